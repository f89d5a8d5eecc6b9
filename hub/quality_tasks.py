"""The ``quality_check`` task body run after each load (kept here so the DAG factory stays wiring only)."""

from __future__ import annotations

import logging
from typing import Any

from hub.settings import hub_home
from hub.store.connection import store_uri
from quality import batch_quality, findings, gx_suites
from schemas.tables import TABLES

log = logging.getLogger(__name__)


class QualityCheckFailed(RuntimeError):
    """The stored table fails its declared expectations: something slipped past the row rules."""


def quality_check(source: str, table: str, batch_id: str, *, store: str | None = None) -> dict[str, Any]:
    """Recompute cross-department findings and validate the rows the batch just loaded.

    GX validates only the rows this batch wrote (:func:`quality.batch_quality.validate_batch`):
    the work grows with the batch, not the table; the key's uniqueness is the database's to
    judge. Every table's whole-table suite runs daily (:func:`daily_validation`). Findings are
    expected (the departments' truth is loaded as is) and do not fail the task; a failing
    expectation on the batch's rows does.

    Args:
        source: The source registry name.
        table: The qualified name of the table the source loads.
        batch_id: The batch just loaded.
        store: Store URI (resolved from ``hub_store`` when omitted).

    Returns:
        Findings per source table and rule, the batch's rows validated and its suite's outcome.

    Raises:
        QualityCheckFailed: if a row of the batch fails an expectation.
    """
    uri = store or store_uri()
    check = findings.run_checks(uri)
    suite = batch_quality.validate_batch(uri, TABLES[table], batch_id, home=hub_home())
    log.info(
        "source %s batch %s: %d open findings, %s rows validated, suite %s",
        source,
        batch_id,
        check.total,
        suite.rows,
        "passed" if suite.success else "failed",
    )
    if not suite.success:
        raise QualityCheckFailed(
            f"source {source}: batch {batch_id} stored rows in {table} failing expectation(s) {', '.join(suite.failed)}"
        )
    return {
        "findings": {f"{s}:{r}": n for (s, r), n in check.counts.items()},
        "suites": {table: suite.success},
        "rows_validated": suite.rows,
    }


def daily_validation(*, store: str | None = None) -> dict[str, Any]:
    """Recompute the findings and validate every standard table whole with GX; rebuild the Data Docs.

    Run daily (``quality_daily`` DAG); unlike a batch's check it does not fail on a failing
    suite (the rows are loaded already, the batch checks failed then): it reports them.

    Args:
        store: Store URI (resolved from ``hub_store`` when omitted).

    Returns:
        Each suite's success, failed expectations, rows validated, and the Data Docs path.
    """
    uri = store or store_uri()
    check = findings.run_checks(uri)
    result = gx_suites.run(uri, home=hub_home())
    failing = {s.table: s.failed for s in result.suites if not s.success}
    if failing:
        log.warning("daily validation: suite(s) failing: %s", failing)
    return {
        "findings": check.total,
        "suites": {s.table: s.success for s in result.suites},
        "failed": failing,
        "rows": {s.table: s.rows for s in result.suites},
        "data_docs": str(result.docs_index),
    }
