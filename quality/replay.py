"""The quarantine workflow: list, show and replay quarantined rows.

Replay re-reads the pending rows of a source from ``quarantine.record.raw``, runs them through
the source's *current* mapping and rules, and loads those that now pass through the same
staging + MERGE path as an ingest, as one ledger batch ``<source>:replay:<timestamp>``:

    extracted (pending rows replayed) = inserted + updated + unchanged (released)
                                        + quarantined (still failing, or superseded in the batch)

Released rows are marked ``released`` with the replay's batch id; rows that still fail stay
``pending``. Nothing in the quarantine is ever deleted, and the source cursor does not move.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.registry import SourceSpec
from hub.store.ledger import LedgerEntry
from hub.store.load import LoadTransaction

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$")
_TIMESTAMP_TZ = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:?\d{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    import psycopg

    where, params = [], []
    for column, value in (("source", source), ("status", status), ("rule", rule)):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    sql = f"SELECT {_COLUMNS} FROM quarantine.record"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT %s"
    with psycopg.connect(uri) as conn:
        return [QuarantinedRow(*r) for r in conn.execute(sql, (*params, limit)).fetchall()]


def show(uri: str, record_id: int) -> QuarantinedRow | None:
    """One quarantine record with its raw source record."""
    import psycopg

    with psycopg.connect(uri) as conn:
        row = conn.execute(f"SELECT {_COLUMNS}, raw FROM quarantine.record WHERE id = %s", (record_id,)).fetchone()
    return QuarantinedRow(*row) if row else None


def revive(records: list[dict[str, Any]]) -> pa.Table:
    """Rebuild a raw Arrow batch from quarantined JSON records.

    JSON has no timestamps or dates: a string column whose every value looks like one is cast
    back (timestamps without zone stay without zone, as the source delivered them).
    """
    table = pa.Table.from_pylist(records)
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        if not pa.types.is_string(column.type) or column.null_count == len(column):
            continue
        values = [v for v in column.to_pylist() if v is not None]
        if all(_TIMESTAMP.match(v) for v in values):
            revived = pc.cast(column, pa.timestamp("us"))
        elif all(_TIMESTAMP_TZ.match(v) for v in values):
            revived = pc.cast(column, pa.timestamp("us", tz="UTC"))
        elif all(_DATE.match(v) for v in values):
            revived = pc.cast(column, pa.date32())
        else:
            continue
        table = table.set_column(i, name, revived)
    return table


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
    """
    import psycopg

    from hub.store import ledger
    from hub.store.connection import store_uri
    from quality.rules import validate

    uri = store or store_uri()
    mapping = spec.load_mapping()
    table = mapping.table
    with psycopg.connect(uri) as conn:
        rows = conn.execute(
            "SELECT id, raw FROM quarantine.record WHERE source = %s AND status = 'pending' ORDER BY id"
            + (" LIMIT %s" if limit else ""),
            (spec.name, limit) if limit else (spec.name,),
        ).fetchall()
    if not rows:
        return None
    started = dt.datetime.now(dt.UTC)
    run_id = "replay:" + started.strftime("%Y%m%dT%H%M%S.%fZ")
    batch_id = f"{spec.name}:{run_id}"
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    raw = revive([r[1] if isinstance(r[1], dict) else json.loads(r[1]) for r in rows])
    with _ReplayTransaction(uri, table, source=spec.name, batch_id=batch_id) as tx:
        mapped = mapping.apply(raw)
        verdict = validate(table, mapped.data, today=today, extra=mapped.failures)
        passing = ~verdict.rejected
        keep = pa.array(passing)
        tx.stage(mapped.data.filter(keep).append_column("_ref", mapped.refs.filter(keep).cast(pa.string())))
        merged = tx.merge()
        tx.release([int(i) for i in ids[passing]])
        still = int(np.count_nonzero(~passing))
        rule_counts = verdict.counts()
        if merged.superseded:
            rule_counts["key.superseded_in_batch"] = merged.superseded
        tx.finish(
            run_id=run_id,
            started_at=started,
            extracted=len(rows),
            counts={
                "inserted": merged.inserted,
                "updated": merged.updated,
                "unchanged": merged.unchanged,
                "quarantined": still + merged.superseded,
            },
            cursor_from=None,
            cursor_to=None,
            move_cursor=False,
            drift=[],
            rule_counts=rule_counts,
        )
    entry = ledger.get(uri, batch_id)
    assert entry is not None
    return entry
