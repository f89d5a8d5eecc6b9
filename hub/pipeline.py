"""The ingest pipeline of one source run: extract → map → validate → load.

Batches stream from the connector through the mapping and the row rules into staging;
nothing is merged until the source is read to the end. The batch id is derived from the
source and the Airflow run id, so repeating a run repeats the same batch: it reads the same
cursor window again, finds every row unchanged, and rewrites its one ledger row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from connectors.base import prefetched
from hub import faults
from hub.registry import SourceSpec
from hub.store import ledger
from hub.store.ledger import LedgerEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunWindow:
    """The cursor window a run reads, and whether it is a repeat of an earlier run."""

    cursor_from: dict | None
    until: dict | None
    repeat: bool


def batch_id_for(source: str, run_id: str) -> str:
    """The ledger batch id of a source's run."""
    return f"{source}:{run_id}"


def run_ingest(spec: SourceSpec, run_id: str, *, store: str | None = None, today: dt.date | None = None) -> LedgerEntry:
    """Run one ingest of ``spec`` and return its ledger entry.

    Args:
        spec: The source to ingest.
        run_id: The Airflow run id (a repeated run passes the same id).
        store: Store URI; resolved from ``hub_store`` or the embedded server when omitted.
        today: Reference date for date rules (defaults to today).

    Returns:
        The ledger entry written in the load's transaction.

    Raises:
        Exception: whatever stopped the run, after a ``failed`` ledger row was recorded.
    """
    from hub.store.connection import store_uri
    from hub.store.load import LoadTransaction
    from quality.quarantine import quarantine_rows
    from quality.quarantine import rule_counts as rule_counts_of
    from quality.rules import validate
    from quality.screen import screen

    uri = store or store_uri()
    mapping = spec.load_mapping()
    table = mapping.table
    batch_id = batch_id_for(spec.name, run_id)
    started = dt.datetime.now(dt.UTC)
    try:
        direct = not mapping.derived  # a derivation reads the batch from staging
        with LoadTransaction(uri, table, source=spec.name, batch_id=batch_id, direct_first_load=direct) as tx:
            window = _window(tx.prior(), tx.committed_cursor())
            connector = spec.build_connector()
            extracted = 0
            cursor_to = window.cursor_from
            drift: set[str] = set()
            rule_counts: dict[str, int] = {}
            batches = (
                []
                if window.repeat and window.until is None
                else prefetched(connector.read(window.cursor_from, window.until))
            )
            for batch in batches:
                screened = screen(batch.data)
                raw = screened.data
                drift.update(mapping.check_columns(raw))
                mapped = mapping.apply(raw)
                verdict = validate(table, mapped.data, today=today, extra=mapped.failures + screened.failures)
                rejected = verdict.rejected
                keep = pa.array(~rejected)
                tx.stage(mapped.data.filter(keep).append_column("_ref", mapped.refs.filter(keep).cast(pa.string())))
                tx.stage_quarantine(quarantine_rows(raw, mapped.refs, verdict, rejected, screened.raw_bytes))
                unparsed = batch.rejected
                if unparsed is not None and unparsed.num_rows:
                    tx.stage_quarantine(unparsed)
                for rule, n in [*verdict.counts().items(), *rule_counts_of(unparsed).items()]:
                    rule_counts[rule] = rule_counts.get(rule, 0) + n
                extracted += batch.records
                cursor_to = batch.cursor
                log.info(
                    "source %s: %s staged (%d rows, %d rejected)",
                    spec.name,
                    batch.locator,
                    batch.records,
                    int(np.count_nonzero(rejected)) + (unparsed.num_rows if unparsed is not None else 0),
                )
            faults.checkpoint("load.after_staging")
            # --- batch gates (quality/gates.py): raise before the merge, so a failing batch loads nothing
            if not window.repeat:
                from quality.gates import enforce

                enforce(uri, spec.name, spec.gates, extracted=extracted, quarantined=tx.quarantined)
            # --- end batch gates
            merged = tx.merge()
            # -- derived tables (e.g. shared.service_case from its steps): same transaction --
            for derivation in mapping.derived:
                inserted, updated = tx.derive(derivation)
                log.info(
                    "source %s: %s derived (%d new, %d changed)",
                    spec.name,
                    derivation.table.qualified_name,
                    inserted,
                    updated,
                )
            # -- end derived tables --
            tx.flush_quarantine()
            faults.checkpoint("load.before_commit")
            counts = {
                "inserted": merged.inserted,
                "updated": merged.updated,
                "unchanged": merged.unchanged,
                "quarantined": tx.quarantined + merged.superseded,
            }
            if merged.superseded:
                rule_counts["key.superseded_in_batch"] = merged.superseded
            tx.finish(
                run_id=run_id,
                started_at=started,
                extracted=extracted,
                counts=counts,
                cursor_from=window.cursor_from,
                cursor_to=cursor_to if not window.repeat else window.until,
                move_cursor=not window.repeat,
                drift=sorted(drift),
                rule_counts=rule_counts,
            )
    except Exception as err:
        ledger.record_failure(
            uri,
            batch_id=batch_id,
            source=spec.name,
            run_id=run_id,
            target_table=table.qualified_name,
            started_at=started,
            error=f"{type(err).__name__}: {err}",
        )
        raise
    entry = ledger.get(uri, batch_id)
    assert entry is not None
    log.info("source %s batch %s: %s", spec.name, batch_id, json.dumps(entry.counts()))
    if drift:
        log.warning(
            "source %s: undeclared column(s) %s kept out of the mapping (schema drift)",
            spec.name,
            ", ".join(sorted(drift)),
        )
    return entry


def _window(prior: tuple[str, str | None, str | None] | None, committed: str | None) -> RunWindow:
    """A succeeded run repeats its own window; anything else reads on from the committed cursor.

    A repeated run whose first attempt read nothing has no upper bound and reads nothing again.
    """
    if prior is not None and prior[0] == "succeeded":
        start = json.loads(prior[1]) if prior[1] else None
        end = json.loads(prior[2]) if prior[2] else None
        return RunWindow(start, end, repeat=True)
    return RunWindow(json.loads(committed) if committed else None, None, repeat=False)
