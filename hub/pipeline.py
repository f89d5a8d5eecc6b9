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
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from connectors.base import ExtractBatch, prefetched
from hub import faults
from hub.registry import SourceSpec
from hub.store import ledger
from hub.store.connection import store_uri
from hub.store.ledger import LedgerEntry
from hub.store.load import LoadTransaction, MergeCounts
from quality.gates import enforce
from quality.quarantine import quarantine_rows
from quality.quarantine import rule_counts as rule_counts_of
from quality.rules import validate
from quality.screen import screen
from schemas.mapping import Mapping

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
    uri = store or store_uri()
    mapping = spec.load_mapping()
    table = mapping.table
    batch_id = batch_id_for(spec.name, run_id)
    started = dt.datetime.now(dt.UTC)
    recorded = ledger.failure_recorded(
        uri, batch_id=batch_id, source=spec.name, run_id=run_id, target_table=table.qualified_name, started_at=started
    )
    with recorded:
        direct = not mapping.derived  # a derivation reads the batch from staging
        with LoadTransaction(uri, table, source=spec.name, batch_id=batch_id, direct_first_load=direct) as tx:
            window = _window(tx.prior(), tx.committed_cursor())
            staged = _stage(spec, mapping, tx, window, today)
            faults.checkpoint("load.after_staging")
            if not window.repeat:  # raise before the merge, so a failing batch loads nothing
                enforce(uri, spec.name, spec.gates, extracted=staged.extracted, quarantined=tx.quarantined)
            merged = tx.merge()
            _derive(spec.name, mapping, tx)
            tx.flush_quarantine()
            faults.checkpoint("load.before_commit")
            _finish(tx, run_id, started, window, staged, merged)
    return _report(uri, spec.name, batch_id, staged.drift)


@dataclass
class Staged:
    """What staging a run's window gathered for the gates and the ledger."""

    extracted: int
    cursor_to: dict | None
    drift: set[str] = field(default_factory=set)
    rule_counts: dict[str, int] = field(default_factory=dict)


def _stage(spec: SourceSpec, mapping: Mapping, tx: LoadTransaction, window: RunWindow, today: dt.date | None) -> Staged:
    """Read the window batch by batch; stage the rows that pass, quarantine the rest (nothing merged yet)."""
    connector = spec.build_connector()
    staged = Staged(extracted=0, cursor_to=window.cursor_from)
    batches = (
        [] if window.repeat and window.until is None else prefetched(connector.read(window.cursor_from, window.until))
    )
    for batch in batches:
        _stage_batch(spec.name, mapping, tx, batch, today, staged)
    return staged


def _stage_batch(
    source: str, mapping: Mapping, tx: LoadTransaction, batch: ExtractBatch, today: dt.date | None, staged: Staged
) -> None:
    """Screen, map and validate one batch; stage its kept rows and quarantine its rejected and unparsed ones."""
    table = mapping.table
    screened = screen(batch.data)
    raw = screened.data
    staged.drift.update(mapping.check_columns(raw))
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
        staged.rule_counts[rule] = staged.rule_counts.get(rule, 0) + n
    staged.extracted += batch.records
    staged.cursor_to = batch.cursor
    log.info(
        "source %s: %s staged (%d rows, %d rejected)",
        source,
        batch.locator,
        batch.records,
        int(np.count_nonzero(rejected)) + (unparsed.num_rows if unparsed is not None else 0),
    )


def _derive(source: str, mapping: Mapping, tx: LoadTransaction) -> None:
    """Write the tables derived from the mapped one (e.g. shared.service_case from its steps), same transaction."""
    for derivation in mapping.derived:
        inserted, updated = tx.derive(derivation)
        log.info(
            "source %s: %s derived (%d new, %d changed)",
            source,
            derivation.table.qualified_name,
            inserted,
            updated,
        )


def _finish(
    tx: LoadTransaction, run_id: str, started: dt.datetime, window: RunWindow, staged: Staged, merged: MergeCounts
) -> None:
    """Write the run's ledger row and, unless it repeats an earlier run, move the cursor; then commit."""
    counts = merged.ledger_counts(tx.quarantined)
    if merged.superseded:
        staged.rule_counts["key.superseded_in_batch"] = merged.superseded
    tx.finish(
        run_id=run_id,
        started_at=started,
        extracted=staged.extracted,
        counts=counts,
        cursor_from=window.cursor_from,
        cursor_to=staged.cursor_to if not window.repeat else window.until,
        move_cursor=not window.repeat,
        drift=sorted(staged.drift),
        rule_counts=staged.rule_counts,
    )


def _report(uri: str, source: str, batch_id: str, drift: set[str]) -> LedgerEntry:
    """Read back and log the committed ledger entry, warning of undeclared columns."""
    entry = ledger.get(uri, batch_id)
    assert entry is not None
    log.info("source %s batch %s: %s", source, batch_id, json.dumps(entry.counts()))
    if drift:
        log.warning(
            "source %s: undeclared column(s) %s kept out of the mapping (schema drift)",
            source,
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
