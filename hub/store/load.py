"""Bulk load: COPY into staging, MERGE into the shared table, ledger and cursor, one transaction.

A :class:`LoadTransaction` owns one ADBC connection to the store and one transaction. Batches
are COPYed (ADBC bulk ingest) into temporary staging tables as they are extracted; at the
end a single MERGE writes only new or changed rows, the quarantine rows are inserted, the
ledger row is written and the cursor moves, and everything commits together. A crash
anywhere before the commit leaves nothing behind: temporary tables vanish with the session.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from hub.store.ledger import dumps
from schemas.model import Table, staging_table_sql

if TYPE_CHECKING:
    from schemas.mapping import Derivation

STAGING = "stg_rows"
STAGING_QUARANTINE = "stg_quarantine"
BULK_LOAD_MIN_ROWS = 50_000
"""Below this many staged rows an empty target is merged like any other: the bulk path's
fixed cost (dropping and rebuilding the key) only pays off for large first loads."""
WORK_MEM = "256MB"
"""Per sort or hash of this transaction: the merge's join of staging with the table then stays in
memory (1M rows: 3.1 s instead of 3.8 s with the default 4MB, which spills to 64 batches)."""
QUARANTINE_SCHEMA = pa.schema(
    [
        ("record_ref", pa.string()),
        ("rule", pa.string()),
        ("field", pa.string()),
        ("message", pa.string()),
        ("raw", pa.string()),
    ]
)


@dataclass(frozen=True)
class MergeCounts:
    """What the MERGE did with the staged rows."""

    inserted: int
    updated: int
    unchanged: int
    superseded: int


def _hash_expression(table: Table, alias: str) -> str:
    """md5 over the business columns except the version column (a new timestamp alone is no change)."""
    cols = [f"{alias}.{c}" for c in table.business_columns if c != table.order_by]
    return f"md5(ROW({', '.join(cols)})::text)"


def _changed_predicate(table: Table) -> str:
    """True when a staged row differs from the stored one in a business column other than the version.

    Comparing the typed columns is cheaper than hashing every staged row, and the hash is then
    computed only for the rows written.
    """
    cols = [c for c in table.business_columns if c not in table.key and c != table.order_by]
    return f"({', '.join(f't.{c}' for c in cols)}) IS DISTINCT FROM ({', '.join(f's.{c}' for c in cols)})"


def _newest_per_key(table: Table, unique_keys: bool) -> str:
    """The staged rows to merge: all of them when the keys are known unique, else the newest per key."""
    if unique_keys:
        return f"SELECT * FROM {STAGING}"
    key = ", ".join(table.key)
    return f"SELECT DISTINCT ON ({key}) * FROM {STAGING} ORDER BY {key}, {table.order_by} DESC, _ref DESC"


def merge_sql(table: Table, unique_keys: bool = False) -> str:
    """The MERGE of staging into ``table``: insert new keys, update changed and not older rows.

    Staged rows are first joined to the table to keep only new keys and changed rows, so the
    MERGE (which fetches every matched target row again, at random) touches only the rows it
    writes; on a day where 10 % changed that is a tenth of the work. The MERGE keeps its own
    conditions, so the result does not depend on the pre-filter.

    Args:
        table: The target table.
        unique_keys: The staged keys are known to be unique (no newest-per-key pass needed).

    Parameters: ``$1`` source system, ``$2`` batch id. Returns one row: inserted, updated, distinct staged.
    """
    on = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
    cols = table.business_columns
    set_cols = ", ".join(f"{c} = s.{c}" for c in cols if c not in table.key)
    insert_cols = ", ".join((*cols, "source_system", "batch_id", "loaded_at", "record_hash"))
    insert_vals = ", ".join((*(f"s.{c}" for c in cols), "$1", "$2", "now()", _hash_expression(table, "s")))
    order = table.order_by
    changed = f"{_changed_predicate(table)} AND s.{order} >= t.{order}"
    key = ", ".join(table.key)
    distinct = (
        f"(SELECT count(*) FROM {STAGING})"
        if unique_keys
        else f"(SELECT count(*) FROM (SELECT DISTINCT {key} FROM {STAGING}) k)"
    )
    return f"""
WITH src AS ({_newest_per_key(table, unique_keys)}), writes AS (
    SELECT s.* FROM src s LEFT JOIN {table.qualified_name} t ON {on}
    WHERE t.{table.key[0]} IS NULL OR ({changed})
), merged AS (
    MERGE INTO {table.qualified_name} t
    USING writes s ON {on}
    WHEN MATCHED AND {changed} THEN
        UPDATE SET {set_cols}, source_system = $1, batch_id = $2, loaded_at = now(),
                   record_hash = {_hash_expression(table, "s")}
    WHEN NOT MATCHED THEN
        INSERT ({insert_cols}) VALUES ({insert_vals})
    RETURNING merge_action() AS action
)
SELECT count(*) FILTER (WHERE action = 'INSERT'),
       count(*) FILTER (WHERE action = 'UPDATE'),
       {distinct}
FROM merged"""


def bulk_insert_sql(table: Table, unique_keys: bool = False) -> str:
    """Insert the newest staged version of every key into an empty ``table``.

    Parameters: ``$1`` source system, ``$2`` batch id.
    """
    cols = table.business_columns
    insert_cols = ", ".join((*cols, "source_system", "batch_id", "loaded_at", "record_hash"))
    select_cols = ", ".join((*(f"s.{c}" for c in cols), "$1", "$2", "now()", _hash_expression(table, "s")))
    return f"""
INSERT INTO {table.qualified_name} ({insert_cols})
SELECT {select_cols}
FROM ({_newest_per_key(table, unique_keys)}) s"""


def superseded_sql(table: Table) -> str:
    """Quarantine (status ``superseded``) every staged row beaten by a newer version of its key in the same batch.

    Parameters: ``$1`` source, ``$2`` batch id.
    """
    key = ", ".join(table.key)
    order = table.order_by
    return f"""
INSERT INTO quarantine.record (source, batch_id, target_table, record_ref, rule, field, message, raw, status)
SELECT $1, $2, '{table.qualified_name}', s._ref, 'key.superseded_in_batch', '{table.key[0]}',
       'a newer version of the same key arrived in the same batch and was loaded instead',
       to_jsonb(s) - '_ref' - '_rank', 'superseded'
FROM (SELECT s.*, row_number() OVER (PARTITION BY {key} ORDER BY s.{order} DESC, s._ref DESC) AS _rank
      FROM {STAGING} s) s
WHERE s._rank > 1
ON CONFLICT (batch_id, record_ref) DO NOTHING"""


class _BackgroundCopy:
    """COPYs staged Arrow tables on a thread, so the next batch is mapped while the server ingests.

    ADBC releases the GIL while it streams a COPY, so the mapping (Python) and the server's
    ingest overlap. The connection is not shared: every other statement of the transaction
    waits for :meth:`drain`. At most ``depth`` tables wait, which bounds the memory held.
    """

    def __init__(self, cursor: Any, depth: int = 2) -> None:
        self._cursor = cursor
        self._queue: queue.Queue[tuple[str, pa.Table] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread: threading.Thread | None = None

    def put(self, target: str, rows: pa.Table) -> None:
        """Queue ``rows`` for COPY into the temporary table ``target`` (raises an earlier COPY's error)."""
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="load-copy", daemon=True)
            self._thread.start()
        self._queue.put((target, rows))

    def drain(self) -> None:
        """Wait until every queued table is copied; re-raise the first COPY error."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise()

    def cancel(self) -> None:
        """Drop whatever is still queued and wait for the COPY in progress (before a rollback)."""
        self._cancelled = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._cancelled or self._error is not None:
                continue
            target, rows = item
            try:
                self._cursor.adbc_ingest(target, rows, mode="append", temporary=True)
            except BaseException as exc:  # re-raised in the loading thread by put() or drain()
                self._error = exc


class LoadTransaction:
    """One source batch's load, from staging to commit.

    Use as a context manager: leaving the block without :meth:`commit` rolls everything back.
    """

    def __init__(self, uri: str, table: Table, *, source: str, batch_id: str) -> None:
        import adbc_driver_postgresql.dbapi as adbc

        self.table = table
        self.source = source
        self.batch_id = batch_id
        self._conn = adbc.connect(uri)
        self._cur = self._conn.cursor()
        self._copy = _BackgroundCopy(self._cur)
        self._closed = False
        self.staged = 0
        self.quarantined = 0
        self._staged_keys: list[pa.Table] = []
        self._execute("SET LOCAL timezone = 'UTC'")
        self._execute("SET LOCAL datestyle = 'ISO, YMD'")
        self._execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        self._execute("SELECT pg_advisory_xact_lock(hashtext($1))", ("ingest:" + source,))
        self._execute(staging_table_sql(table, STAGING))
        self._execute(
            f"CREATE TEMP TABLE {STAGING_QUARANTINE} (record_ref text, rule text, field text, message text, "
            "raw text) ON COMMIT DROP"
        )

    def __enter__(self) -> LoadTransaction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Roll back whatever was not committed and close the connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._copy.cancel()
            self._conn.rollback()
        finally:
            self._cur.close()
            self._conn.close()

    def _execute(self, sql: str, params: tuple[Any, ...] | None = None) -> None:
        self._copy.drain()
        self._cur.execute(sql, parameters=params)

    def _fetchone(self, sql: str, params: tuple[Any, ...] | None = None) -> tuple[Any, ...] | None:
        self._copy.drain()
        self._cur.execute(sql, parameters=params)
        return self._cur.fetchone()

    def prior(self) -> tuple[str, Any, Any] | None:
        """The ledger status and cursor window of this batch if it ran before (a repeated run)."""
        row = self._fetchone(
            "SELECT status, cursor_from::text, cursor_to::text FROM hub.ledger WHERE batch_id = $1", (self.batch_id,)
        )
        return row  # type: ignore[return-value]

    def committed_cursor(self) -> str | None:
        """The source's committed cursor as JSON text, read inside this transaction (after the lock)."""
        row = self._fetchone("SELECT value::text FROM hub.cursor WHERE source = $1", (self.source,))
        return row[0] if row else None

    def stage(self, rows: pa.Table) -> None:
        """COPY mapped, valid rows (business columns plus ``_ref``) into staging, on the copy thread."""
        if rows.num_rows:
            self._copy.put(STAGING, rows)
            self.staged += rows.num_rows
            self._staged_keys.append(rows.select(list(self.table.key)))

    def stage_quarantine(self, rows: pa.Table) -> None:
        """COPY rejected rows (see :data:`QUARANTINE_SCHEMA`) into quarantine staging."""
        if rows.num_rows:
            self._copy.put(STAGING_QUARANTINE, rows)
            self.quarantined += rows.num_rows

    def merge(self) -> MergeCounts:
        """Merge staging into the shared table and quarantine superseded duplicates.

        A large batch into an empty table (the initial load) takes the bulk path instead: the
        primary key is dropped, the rows are inserted, and the key is rebuilt in one pass,
        which is several times cheaper than maintaining it row by row. Both paths run in this
        transaction, so a crash restores the key along with everything else. When the staged
        keys are unique (known from the Arrow batches, without asking the database), neither
        path needs the newest-per-key sort nor the superseded pass.
        """
        unique = self.staged_keys_unique()
        if self.staged >= BULK_LOAD_MIN_ROWS and self._empty_and_locked():
            inserted = self._bulk_insert(unique)
            if inserted < self.staged:
                self._execute(superseded_sql(self.table), (self.source, self.batch_id))
            return MergeCounts(inserted, 0, 0, self.staged - inserted)
        self._execute(f"ANALYZE {STAGING}")  # the MERGE's join plan needs the staging table's size
        row = self._fetchone(merge_sql(self.table, unique), (self.source, self.batch_id))
        assert row is not None
        inserted, updated, distinct = (int(v) for v in row)
        if distinct < self.staged:
            self._execute(superseded_sql(self.table), (self.source, self.batch_id))
        return MergeCounts(inserted, updated, distinct - inserted - updated, self.staged - distinct)

    def staged_keys_unique(self) -> bool:
        """Whether no key was staged twice in this batch (a hash aggregation over the staged key columns)."""
        if not self._staged_keys:
            return True
        keys = pa.concat_tables(self._staged_keys)
        if keys.num_columns == 1:
            return pc.count_distinct(keys.column(0), mode="all").as_py() == keys.num_rows
        return keys.group_by(keys.column_names).aggregate([]).num_rows == keys.num_rows

    def _empty_and_locked(self) -> bool:
        """Whether the target is empty; an empty one is then held ACCESS EXCLUSIVE for the bulk path."""
        probe = f"SELECT NOT EXISTS (SELECT 1 FROM {self.table.qualified_name})"
        row = self._fetchone(probe)
        if not (row and row[0]):
            return False
        self._execute(f"LOCK TABLE {self.table.qualified_name} IN ACCESS EXCLUSIVE MODE")
        row = self._fetchone(probe)  # someone may have written between the probe and the lock
        return bool(row and row[0])

    def _bulk_insert(self, unique_keys: bool) -> int:
        table = self.table.qualified_name
        row = self._fetchone(
            "SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", (table,)
        )
        assert row is not None, f"{table} has no primary key"
        constraint = row[0]
        self._execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
        self._execute(bulk_insert_sql(self.table, unique_keys), (self.source, self.batch_id))
        self._execute(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} PRIMARY KEY ({', '.join(self.table.key)})")
        counted = self._fetchone(f"SELECT count(*) FROM {table}")
        assert counted is not None
        return int(counted[0])

    def derive(self, derivation: Derivation) -> tuple[int, int]:
        """Re-derive a dependent table from the merged rows, in this transaction.

        Returns:
            Rows inserted and updated in the derived table.
        """
        row = self._fetchone(derivation.sql(STAGING), (self.source, self.batch_id))
        assert row is not None
        return int(row[0]), int(row[1])

    def flush_quarantine(self) -> None:
        """Move quarantine staging into ``quarantine.record`` (a repeated run adds nothing twice)."""
        self._execute(
            "INSERT INTO quarantine.record (source, batch_id, target_table, record_ref, rule, field, message, raw) "
            "SELECT $1, $2, $3, CASE WHEN q.n > 1 THEN q.record_ref || '#' || q.n ELSE q.record_ref END, "
            "q.rule, q.field, q.message, q.raw::jsonb "
            "FROM (SELECT *, row_number() OVER (PARTITION BY record_ref ORDER BY raw) AS n "
            f"FROM {STAGING_QUARANTINE}) q "
            "ON CONFLICT (batch_id, record_ref) DO NOTHING",
            (self.source, self.batch_id, self.table.qualified_name),
        )

    def finish(
        self,
        *,
        run_id: str,
        started_at: Any,
        extracted: int,
        counts: dict[str, int],
        cursor_from: Any,
        cursor_to: Any,
        move_cursor: bool,
        drift: list[str],
        rule_counts: dict[str, int],
    ) -> None:
        """Write the ledger row and (for a new run) the cursor, then commit."""
        self._execute(
            "INSERT INTO hub.ledger (batch_id, source, run_id, target_table, status, extracted, inserted, updated, "
            "unchanged, quarantined, cursor_from, cursor_to, drift_columns, rule_counts, started_at, error) "
            "VALUES ($1, $2, $3, $4, 'succeeded', $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, "
            "string_to_array($12, ','), $13::jsonb, $14::timestamptz, NULL) "
            "ON CONFLICT (batch_id) DO UPDATE SET status = 'succeeded', extracted = excluded.extracted, "
            "inserted = excluded.inserted, updated = excluded.updated, unchanged = excluded.unchanged, "
            "quarantined = excluded.quarantined, cursor_from = excluded.cursor_from, cursor_to = excluded.cursor_to, "
            "drift_columns = excluded.drift_columns, rule_counts = excluded.rule_counts, "
            "attempts = hub.ledger.attempts + 1, finished_at = now(), error = NULL",
            (
                self.batch_id,
                self.source,
                run_id,
                self.table.qualified_name,
                extracted,
                counts["inserted"],
                counts["updated"],
                counts["unchanged"],
                counts["quarantined"],
                dumps(cursor_from) if cursor_from is not None else None,
                dumps(cursor_to) if cursor_to is not None else None,
                ",".join(drift) if drift else "",
                dumps(rule_counts),
                started_at.isoformat(),
            ),
        )
        if move_cursor and cursor_to is not None:
            self._execute(
                "INSERT INTO hub.cursor (source, value, batch_id) VALUES ($1, $2::jsonb, $3) "
                "ON CONFLICT (source) DO UPDATE SET value = excluded.value, batch_id = excluded.batch_id, "
                "updated_at = now()",
                (self.source, dumps(cursor_to), self.batch_id),
            )
        self._conn.commit()
