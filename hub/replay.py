"""The quarantine workflow: list, show and replay quarantined rows.

Replay re-reads the pending rows of a source from ``quarantine.record.raw``, rebuilds them with
the types the source's connector delivers (``Mapping.raw_types``; JSON keeps no types and
nothing is guessed from the values), runs them through the source's *current* mapping and
rules, and loads those that now pass through the same staging + MERGE path as an ingest
(derived tables included), as one ledger batch ``<source>:replay:<timestamp>``:

    extracted (pending rows replayed) = inserted + updated + unchanged (released)
                                        + quarantined (still failing, unreadable as a record,
                                          or superseded in the batch)

Released rows are marked ``released`` with the replay's batch id; rows that still fail stay
``pending``. Nothing in the quarantine is ever deleted, and the source cursor does not move.
:func:`replay_all` replays several sources, one source's failure reported without stopping
the others.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.connections import connect
from hub.registry import SourceSpec
from hub.store import ledger
from hub.store.connection import store_uri
from hub.store.ledger import LedgerEntry
from hub.store.load import LoadTransaction
from quality.rules import validate
from quality.screen import UNREPLAYABLE_RULE_PREFIXES

if TYPE_CHECKING:
    from schemas.mapping import Mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuarantinedRow:
    """One quarantine record as ``hub quarantine list|show`` presents it (the raw record only in ``show``)."""

    id: int
    source: str
    batch_id: str
    target_table: str
    record_ref: str
    rule: str
    field: str | None
    message: str
    status: str
    created_at: str
    released_batch_id: str | None
    raw: dict[str, Any] | None = None


_COLUMNS = (
    "id, source, batch_id, target_table, record_ref, rule, field, message, status, created_at::text, released_batch_id"
)


def list_rows(
    uri: str, *, source: str | None = None, status: str | None = "pending", rule: str | None = None, limit: int = 50
) -> list[QuarantinedRow]:
    """Quarantine records, newest first, filtered by source, status and rule."""
    where, params = [], []
    for column, value in (("source", source), ("status", status), ("rule", rule)):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    sql = f"SELECT {_COLUMNS} FROM quarantine.record"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT %s"
    with connect(uri) as conn:
        return [QuarantinedRow(*r) for r in conn.execute(sql, (*params, limit)).fetchall()]


def show(uri: str, record_id: int) -> QuarantinedRow | None:
    """One quarantine record with its raw source record."""
    with connect(uri) as conn:
        row = conn.execute(f"SELECT {_COLUMNS}, raw FROM quarantine.record WHERE id = %s", (record_id,)).fetchone()
    return QuarantinedRow(*row) if row else None


def revive(records: list[dict[str, Any]], types: dict[str, pa.DataType]) -> tuple[pa.Table, np.ndarray]:
    """Rebuild a raw Arrow batch from quarantined JSON records, with the types the source delivered.

    JSON has no dates or timestamps, and a text value may look like one (医保's 变更时间 is text in
    the file). So nothing is guessed from the values: each column gets its declared type
    (``Mapping.raw_types``), text when none is declared.

    Args:
        records: The quarantined raw records.
        types: Arrow type per source column that is not text.

    Returns:
        The batch of the records that could be rebuilt, and a mask over ``records`` saying which
        those are (a record with a value its column's type cannot hold is left out).
    """
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    ok = np.ones(len(records), dtype=bool)
    columns: dict[str, pa.Array] = {}
    for name in names:
        column, castable = _revive_column([r.get(name) for r in records], types.get(name, pa.string()))
        columns[name] = column
        ok &= castable
    table = pa.table(columns) if columns else pa.table({})
    return (table if ok.all() else table.filter(pa.array(ok))), ok


def _revive_column(values: list[Any], type_: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """``values`` as ``type_``; only when the whole column does not cast is each value tried on its own."""
    try:
        return _as_type(pa.array(values), type_), np.ones(len(values), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        castable = np.array([_castable(v, type_) for v in values], dtype=bool)
        kept = [v if c else None for v, c in zip(values, castable, strict=True)]
        return _as_type(pa.array(kept, from_pandas=False), type_), castable


def _castable(value: Any, type_: pa.DataType) -> bool:
    try:
        _as_type(pa.array([value]), type_)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return False
    return True


def _as_type(values: pa.Array, type_: pa.DataType) -> pa.Array:
    if values.type == type_:
        return values
    if pa.types.is_string(type_) and (pa.types.is_nested(values.type) or pa.types.is_binary(values.type)):
        raise pa.ArrowInvalid("a JSON object, list or bytes is not a text value")
    return pc.cast(values, type_)


class _ReplayTransaction(LoadTransaction):
    """A load transaction that also marks the released quarantine records."""

    def release(self, ids: list[int]) -> None:
        """Mark quarantine records released by this batch (in the load's transaction)."""
        if ids:
            self._execute(
                "UPDATE quarantine.record SET status = 'released', released_at = now(), released_batch_id = $1 "
                "WHERE id = ANY($2::bigint[]) AND status = 'pending'",
                (self.batch_id, "{" + ",".join(str(i) for i in ids) + "}"),
            )


# Records only a corrected delivery can release (see quality.screen): replay leaves them pending.
UNREPLAYABLE = [f"{prefix}%" for prefix in UNREPLAYABLE_RULE_PREFIXES]


def replay(
    spec: SourceSpec, *, store: str | None = None, today: dt.date | None = None, limit: int | None = None
) -> LedgerEntry | None:
    """Re-validate the source's pending quarantined rows and load those that now pass.

    Args:
        spec: The source (its current mapping and the table's current rules apply).
        store: Store URI (resolved like an ingest when omitted).
        today: Reference date for date rules.
        limit: Replay at most this many records (oldest first).

    Returns:
        The replay batch's ledger entry, or ``None`` when nothing was pending.

    Raises:
        Exception: whatever stopped the replay, after a ``failed`` ledger row was recorded for it.
    """
    uri = store or store_uri()
    mapping = spec.load_mapping()
    with connect(uri) as conn:
        rows = conn.execute(
            "SELECT id, raw FROM quarantine.record WHERE source = %s AND status = 'pending' "
            "AND NOT rule LIKE ANY(%s) ORDER BY id" + (" LIMIT %s" if limit else ""),
            (spec.name, UNREPLAYABLE, limit) if limit else (spec.name, UNREPLAYABLE),
        ).fetchall()
    if not rows:
        return None
    started = dt.datetime.now(dt.UTC)
    run_id = "replay:" + started.strftime("%Y%m%dT%H%M%S.%fZ")
    batch_id = f"{spec.name}:{run_id}"
    with ledger.failure_recorded(
        uri,
        batch_id=batch_id,
        source=spec.name,
        run_id=run_id,
        target_table=mapping.table.qualified_name,
        started_at=started,
    ):
        _replay_rows(uri, mapping, rows, batch_id=batch_id, run_id=run_id, started=started, today=today)
    entry = ledger.get(uri, batch_id)
    assert entry is not None
    return entry


def _replay_rows(
    uri: str,
    mapping: Mapping,
    rows: list[tuple[int, Any]],
    *,
    batch_id: str,
    run_id: str,
    started: dt.datetime,
    today: dt.date | None,
) -> None:
    """Map, validate and load the replayable ``rows`` as one ledger batch (one transaction)."""
    table = mapping.table
    records = [r[1] if isinstance(r[1], dict) else json.loads(r[1]) for r in rows]
    # a record without every declared column (e.g. the bytes of a line that was never a record) cannot be mapped
    complete = np.array([all(c in rec for c in mapping.source_columns) for rec in records], dtype=bool)
    raw, revived = revive([rec for rec, c in zip(records, complete, strict=True) if c], mapping.raw_types)
    candidates = np.flatnonzero(complete)[revived]
    ids = np.array([r[0] for r in rows], dtype=np.int64)[candidates]
    unreplayable = len(rows) - len(candidates)
    with _ReplayTransaction(uri, table, source=mapping.source, batch_id=batch_id) as tx:
        rule_counts: dict[str, int] = {}
        passing = np.zeros(len(candidates), dtype=bool)
        merged = None
        if len(candidates):
            mapped = mapping.apply(raw)
            verdict = validate(table, mapped.data, today=today, extra=mapped.failures)
            passing = ~verdict.rejected
            keep = pa.array(passing)
            tx.stage(mapped.data.filter(keep).append_column("_ref", mapped.refs.filter(keep).cast(pa.string())))
            rule_counts = verdict.counts()
        merged = tx.merge()
        for derivation in mapping.derived:
            tx.derive(derivation)
        tx.release([int(i) for i in ids[passing]])
        if unreplayable:
            rule_counts["replay.unreadable_record"] = unreplayable
        if merged.superseded:
            rule_counts["key.superseded_in_batch"] = merged.superseded
        tx.finish(
            run_id=run_id,
            started_at=started,
            extracted=len(rows),
            counts=merged.ledger_counts(unreplayable + int(np.count_nonzero(~passing))),
            cursor_from=None,
            cursor_to=None,
            move_cursor=False,
            drift=[],
            rule_counts=rule_counts,
        )


@dataclass(frozen=True)
class ReplayOutcome:
    """What replaying one source came to: its batch, nothing pending, or the error that stopped it."""

    source: str
    entry: LedgerEntry | None
    error: str | None = None


def replay_all(
    specs: list[SourceSpec], *, store: str | None = None, today: dt.date | None = None, limit: int | None = None
) -> list[ReplayOutcome]:
    """Replay each source in turn; one source's failure is reported and does not stop the others.

    Returns:
        One outcome per source, in order (a failed one carries its error; its ledger row says ``failed``).
    """
    outcomes = []
    for spec in specs:
        try:
            outcomes.append(ReplayOutcome(spec.name, replay(spec, store=store, today=today, limit=limit)))
        except Exception as err:  # reported per source: the next source still replays
            log.error("replay of source %s failed: %s", spec.name, type(err).__name__)
            outcomes.append(ReplayOutcome(spec.name, None, f"{type(err).__name__}: {err}"))
    return outcomes
