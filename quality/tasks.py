"""The ``quality_check`` task body run after each load (kept here so the DAG factory stays wiring only)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class QualityCheckFailed(RuntimeError):
    """The stored table fails its declared expectations: something slipped past the row rules."""


def quality_check(source: str, table: str, batch_id: str, *, store: str | None = None) -> dict[str, Any]:
    """Recompute cross-department findings, validate the loaded table with GX, update the Data Docs.

    Only the table this source loads is validated (each expectation is a scan of the whole
    table); every table's suite is still (re)derived and shown in the Data Docs, and
    ``hub quality check`` validates them all. Findings are expected (the departments' truth is
    loaded as is) and do not fail the task; a failing suite of the loaded table does.

    Args:
        source: The source registry name.
        table: The qualified name of the table the source loads.
        batch_id: The batch just loaded (for the log).
        store: Store URI (resolved from ``hub_store`` when omitted).

    Returns:
        Findings per source table and rule, each suite's success and the Data Docs path.

    Raises:
        QualityCheckFailed: if the loaded table's suite fails.
    """
    from hub.store.connection import store_uri
    from quality import findings, gx_suites

    uri = store or store_uri()
    check = findings.run_checks(uri)
    from schemas.tables import TABLES

    result = gx_suites.run(uri, [TABLES[table]])
    suites = {s.table: s for s in result.suites}
    log.info(
        "source %s batch %s: %d open findings, suites %s, data docs %s",
        source,
        batch_id,
        check.total,
        {name: s.success for name, s in suites.items()},
        result.docs_index,
    )
    own = suites.get(table)
    if own is not None and not own.success:
        raise QualityCheckFailed(
            f"source {source}: stored table {table} fails expectation(s) {', '.join(own.failed)} after batch {batch_id}"
        )
    return {
        "findings": {f"{s}:{r}": n for (s, r), n in check.counts.items()},
        "suites": {name: s.success for name, s in suites.items()},
        "data_docs": str(result.docs_index),
    }
