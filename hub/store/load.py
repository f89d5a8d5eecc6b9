"""Bulk load: COPY into staging, MERGE into the shared table, ledger and cursor, one transaction.

A :class:`LoadTransaction` owns one ADBC connection to the store and one transaction. Batches
are COPYed (ADBC bulk ingest) into temporary staging tables as they are extracted; at the
end a single MERGE writes only new or changed rows, the quarantine rows are inserted, the
ledger row is written and the cursor moves, and everything commits together. A crash
anywhere before the commit leaves nothing behind: temporary tables vanish with the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import REJECTED_SCHEMA
from hub import faults
from hub.store.copier import BackgroundCopy
from hub.store.ledger import dumps
from hub.store.page_order import DIGEST_COLUMN, Digester, has_personal_key, inline_digest_sql
from hub.store.rowhash import key_hashes, row_hashes
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
TEMP_BUFFERS = "512MB"
"""Session memory for the staging tables (default 8MB): a 1M-row staging table is then scanned
from memory by ANALYZE and the merge's join instead of from files."""
NARROW_MIN_ROWS = 50_000
"""A first staged chunk of at least this many rows into a table with rows merges narrowly (see :meth:`stage`)."""
NARROW_TABLE_RATIO = 8
"""... and only when the table (by the planner's estimate) holds at most this many times that chunk: reading
every stored digest costs about 0.5 µs a row, against about 6 µs saved for every unchanged staged row."""
MAINTENANCE_WORK_MEM = "256MB"
"""Per index build of the bulk paths (default 64MB): a 3M-row key then sorts in memory, not in files."""
QUARANTINE_SCHEMA = REJECTED_SCHEMA
"""Quarantine rows as staged: locator, rule, field, message, raw JSON, exact bytes, file and line."""


@dataclass(frozen=True)
class MergeCounts:
    """What the MERGE did with the staged rows."""

    inserted: int
    updated: int
    unchanged: int
    superseded: int

    def ledger_counts(self, rejected: int = 0) -> dict[str, int]:
        """The ledger's counts for the batch: superseded rows are quarantined along with the ``rejected`` ones."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "quarantined": rejected + self.superseded,
        }


def hashed_columns(table: Table) -> list[str]:
    """The columns a row's ``record_hash`` covers: the business columns but the version.

    A new source timestamp alone is no new version.
    """
    return [c for c in table.business_columns if c != table.order_by]


def _changed_predicate(table: Table) -> str:
    """True when a staged row differs from the stored one in a business column other than the version.

    Comparing the typed columns decides; the digest (``record_hash``) only labels the version.
    """
    cols = [c for c in table.business_columns if c not in table.key and c != table.order_by]
    return f"({', '.join(f't.{c}' for c in cols)}) IS DISTINCT FROM ({', '.join(f's.{c}' for c in cols)})"


def _newest_per_key(table: Table, unique_keys: bool) -> str:
    """The staged rows to merge: all of them when the keys are known unique, else the newest per key."""
    if unique_keys:
        return f"SELECT * FROM {STAGING}"
    key = ", ".join(table.key)
    return f"SELECT DISTINCT ON ({key}) * FROM {STAGING} ORDER BY {key}, {table.order_by} DESC, _ref DESC"


def merge_sql(table: Table, unique_keys: bool = False, prefiltered: bool = False) -> str:
    """The MERGE of staging into ``table``: insert new keys, update changed and not older rows.

    Staged rows are first joined to the table on their digests to keep only new keys and rows
    whose digest differs, so the MERGE (which fetches every matched target row again, at
    random) touches only the rows it may write; on a day where 10 % changed that is a tenth of
    the work. The MERGE then compares the typed columns, which decide. (Two different rows of
    one key with equal 64-bit digests would be taken as unchanged: odds of 2^-64 per change.)

    Args:
        table: The target table.
        unique_keys: The staged keys are known to be unique (no newest-per-key pass needed).
        prefiltered: Staging already holds only new keys and rows whose digest differs (a narrow
            merge): no join on the digests first.

    Parameters: ``$1`` source system, ``$2`` batch id. Returns one row: inserted, updated, distinct staged.
    """
    on = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
    cols = table.business_columns
    set_cols = ", ".join(f"{c} = s.{c}" for c in cols if c not in table.key)
    insert_cols = ", ".join((*cols, *_lineage_columns(table)))
    insert_vals = ", ".join((*(f"s.{c}" for c in cols), *_lineage_values(table)))
    order = table.order_by
    changed = f"{_changed_predicate(table)} AND s.{order} >= t.{order}"
    # narrow: the digests and versions, not the whole rows (a 1M-row hash table of 160 MB otherwise)
    maybe_changed = f"t.record_hash IS DISTINCT FROM s.record_hash AND s.{order} >= t.{order}"
    key = ", ".join(table.key)
    distinct = (
        f"(SELECT count(*) FROM {STAGING})"
        if unique_keys
        else f"(SELECT count(*) FROM (SELECT DISTINCT {key} FROM {STAGING}) k)"
    )
    writes = (
        "SELECT * FROM src"
        if prefiltered
        else f"""SELECT s.* FROM src s LEFT JOIN {table.qualified_name} t ON {on}
    WHERE t.{table.key[0]} IS NULL OR ({maybe_changed})"""
    )
    return f"""
WITH src AS ({_newest_per_key(table, unique_keys)}), writes AS (
    {writes}
), merged AS (
    MERGE INTO {table.qualified_name} t
    USING writes s{_secret_join(table)} ON {on}
    WHEN MATCHED AND {changed} THEN
        UPDATE SET {set_cols}, source_system = $1, batch_id = $2, loaded_at = now(), record_hash = s.record_hash
    WHEN NOT MATCHED THEN
        INSERT ({insert_cols}) VALUES ({insert_vals})
    RETURNING merge_action() AS action
)
SELECT count(*) FILTER (WHERE action = 'INSERT'),
       count(*) FILTER (WHERE action = 'UPDATE'),
       {distinct}
FROM merged"""


def _lineage_columns(table: Table) -> tuple[str, ...]:
    """The columns an insert writes after the business columns (the paging digest where the key is personal)."""
    digest = (DIGEST_COLUMN,) if has_personal_key(table) else ()
    return ("source_system", "batch_id", "loaded_at", "record_hash", *digest)


def _lineage_values(table: Table) -> tuple[str, ...]:
    """The values of :func:`_lineage_columns` for a staged row ``s`` (``$1`` source, ``$2`` batch)."""
    digest = (inline_digest_sql(table),) if has_personal_key(table) else ()
    return ("$1", "$2", "now()", "s.record_hash", *digest)


def _secret_join(table: Table) -> str:
    """The join that gives an insert the paging-order secret once per statement (see :func:`inline_digest_sql`)."""
    return " LEFT JOIN hub.page_order_key k ON true" if has_personal_key(table) else ""


def bulk_insert_sql(table: Table, unique_keys: bool = False) -> str:
    """Insert the newest staged version of every key into an empty ``table``.

    Parameters: ``$1`` source system, ``$2`` batch id.
    """
    cols = table.business_columns
    insert_cols = ", ".join((*cols, *_lineage_columns(table)))
    select_cols = ", ".join((*(f"s.{c}" for c in cols), *_lineage_values(table)))
    return f"""
INSERT INTO {table.qualified_name} ({insert_cols})
SELECT {select_cols}
FROM ({_newest_per_key(table, unique_keys)}) s{_secret_join(table)}"""


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
       to_jsonb(s) - '_ref' - '_rank' - 'record_hash', 'superseded'
FROM (SELECT s.*, row_number() OVER (PARTITION BY {key} ORDER BY s.{order} DESC, s._ref DESC) AS _rank
      FROM {STAGING} s) s
WHERE s._rank > 1
ON CONFLICT (batch_id, record_ref) DO NOTHING"""


class LoadTransaction:
    """One source batch's load, from staging to commit.

    Use as a context manager: leaving the block without :meth:`commit` rolls everything back.
    """

    def __init__(self, uri: str, table: Table, *, source: str, batch_id: str, direct_first_load: bool = False) -> None:
        """Open the transaction, take the source's lock and create the staging tables.

        Args:
            uri: The store.
            table: The shared table loaded.
            source: The source (its advisory lock serialises its runs).
            batch_id: The ledger batch id.
            direct_first_load: A first load may COPY straight into the empty table, and a large batch into
                a loaded table may stage only its new and changed rows (see :meth:`stage`); only for
                mappings that derive no other table from staging.
        """
        import adbc_driver_postgresql.dbapi as adbc

        self.table = table
        self.source = source
        self.batch_id = batch_id
        self._conn = adbc.connect(uri)
        self._cur = self._conn.cursor()
        self._copy = BackgroundCopy(self._cur)
        self._closed = False
        self.staged = 0
        self.quarantined = 0
        self._staged_keys: list[pa.Table] = []
        self._staged_key_hashes: list[np.ndarray] = []
        self._direct_allowed = direct_first_load
        self.direct: bool | None = None  # decided by the first stage()
        self._primary_key: str | None = None
        self._secondary_indexes: list[str] = []  # definitions dropped for a bulk path, rebuilt with the key
        self._loaded_at: Any = None
        self._digester: Digester | None = None  # the paging digests of a direct COPY (personal keys only)
        self._stored: _StoredDigests | None = None  # the table's digests when merging narrowly
        self._held: list[tuple[pa.Table, np.ndarray, np.ndarray]] = []  # rows left out of staging, mask, key hashes
        self.copied = 0  # rows COPYed into staging
        self._execute("SET LOCAL timezone = 'UTC'")
        self._execute("SET LOCAL datestyle = 'ISO, YMD'")
        self._execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        self._execute(f"SET LOCAL temp_buffers = '{TEMP_BUFFERS}'")
        self._execute("SELECT pg_advisory_xact_lock(hashtext($1))", ("ingest:" + source,))
        self._execute(staging_table_sql(table, STAGING))
        self._execute(
            f"CREATE TEMP TABLE {STAGING_QUARANTINE} (record_ref text, rule text, field text, message text, "
            "raw text, raw_bytes bytea, source_file text, source_line bigint) ON COMMIT DROP"
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
        """Queue mapped, valid rows (business columns plus ``_ref``) for COPY on the copy thread.

        The first call decides where rows go. A first batch of at least :data:`BULK_LOAD_MIN_ROWS`
        rows into an empty table (with ``direct_first_load``) goes straight into the table: its
        primary key is dropped and the table truncated in this transaction (so rows lie in the
        order copied), and :meth:`merge` rebuilds the key. A first batch of at least
        :data:`NARROW_MIN_ROWS` into a loaded table that is not much larger (with
        ``direct_first_load``) merges narrowly: the table is locked against other writers and its
        keys and digests are read once into Arrow; from then on a row whose key is stored with
        the same digest is left out of staging (the MERGE would leave it alone) and only counted,
        so the server COPYs, joins and compares only the new and changed rows. Otherwise rows go
        to staging. Either way the row digest is computed here, while the copy thread is still
        copying the previous batch.
        """
        if not rows.num_rows:
            return
        if self.direct is None:
            self.direct = self._direct_allowed and rows.num_rows >= BULK_LOAD_MIN_ROWS and self._begin_direct()
            if not self.direct and self._direct_allowed and rows.num_rows >= NARROW_MIN_ROWS:
                self._stored = self._read_stored_digests(rows.num_rows)
        hashes = key_hashes(rows, self.table.key)
        self._staged_key_hashes.append(hashes)
        self.staged += rows.num_rows
        if self.direct:
            self._staged_keys.append(rows.select([*self.table.key, "_ref"]))
            self._copy.put(self.table.name, self._as_table_rows(rows), db_schema=self.table.schema)
            return
        self._staged_keys.append(rows.select(list(self.table.key)))
        digested = self._with_digest(rows)
        if self._stored is not None:
            unchanged = self._stored.unchanged(digested, hashes)
            if unchanged.any():
                self._held.append((digested, unchanged, hashes))
                digested = digested.filter(pa.array(~unchanged))
        self._put_staging(digested)

    def _put_staging(self, rows: pa.Table) -> None:
        if rows.num_rows:
            self._copy.put(STAGING, rows)
            self.copied += rows.num_rows

    def _read_stored_digests(self, first_rows: int) -> _StoredDigests | None:
        """Lock the table against other writers and read its keys and digests, or None when it is too large.

        SHARE ROW EXCLUSIVE lets readers in but no other writer until the commit, so a row left out
        of staging as unchanged stays unchanged until the MERGE, as it would inside the one MERGE statement.
        """
        row = self._fetchone("SELECT reltuples FROM pg_class WHERE oid = $1::regclass", (self.table.qualified_name,))
        if row is not None and float(row[0]) > first_rows * NARROW_TABLE_RATIO:
            return None
        self._execute(f"LOCK TABLE {self.table.qualified_name} IN SHARE ROW EXCLUSIVE MODE")
        key = ", ".join(self.table.key)
        self._copy.drain()
        self._cur.execute(f"SELECT {key}, record_hash FROM {self.table.qualified_name}")
        stored = _StoredDigests.of(self._cur.fetch_arrow_table(), list(self.table.key))
        return stored if stored.rows else None

    def _with_digest(self, rows: pa.Table) -> pa.Table:
        return rows.append_column("record_hash", row_hashes(rows, hashed_columns(self.table)))

    def _as_table_rows(self, rows: pa.Table) -> pa.Table:
        n = rows.num_rows
        out = rows.select(list(self.table.business_columns))
        out = out.append_column("source_system", pa.repeat(pa.scalar(self.source), n))
        out = out.append_column("batch_id", pa.repeat(pa.scalar(self.batch_id), n))
        out = out.append_column("loaded_at", pa.repeat(pa.scalar(self._loaded_at, pa.timestamp("us", "UTC")), n))
        out = out.append_column("record_hash", row_hashes(rows, hashed_columns(self.table)))
        if self._digester is not None:
            out = out.append_column(DIGEST_COLUMN, self._digester.digests(rows))
        return out

    def _begin_direct(self) -> bool:
        """Prepare an empty table for direct COPY: lock, drop the key, truncate. False if it is not empty."""
        if not self._empty_and_locked():
            return False
        self._primary_key = self._drop_primary_key()
        self._execute(f"TRUNCATE {self.table.qualified_name}")
        row = self._fetchone("SELECT now()")  # what now() gives every other write of this transaction
        assert row is not None
        self._loaded_at = row[0]
        if has_personal_key(self.table):
            self._copy.drain()
            self._digester = Digester.read(self.table, self._cur)
        return True

    def stage_quarantine(self, rows: pa.Table) -> None:
        """COPY rejected rows (see :data:`QUARANTINE_SCHEMA`) into quarantine staging."""
        if rows.num_rows:
            self._copy.put(STAGING_QUARANTINE, rows)
            self.quarantined += rows.num_rows

    def merge(self) -> MergeCounts:
        """Merge staging into the shared table and quarantine superseded duplicates.

        A large batch into an empty table (the initial load) takes a bulk path: rows copied
        straight into the table (see :meth:`stage`), or inserted from staging with the primary
        key dropped; the key is then rebuilt in one pass, which is several times cheaper than
        maintaining it row by row. Every path runs in this transaction, so a crash restores
        the key along with everything else. When the staged keys are unique (known from the
        Arrow batches, without asking the database), no path needs the newest-per-key sort
        nor the superseded pass.
        """
        unique = self.staged_keys_unique()
        if self.direct:
            return self._finish_direct(unique)
        if self._stored is not None:
            return self._merge_narrow(unique)
        if self.staged >= BULK_LOAD_MIN_ROWS and self._empty_and_locked():
            inserted = self._bulk_insert(unique)
            if inserted < self.staged:
                self._execute(superseded_sql(self.table), (self.source, self.batch_id))
            return MergeCounts(inserted, 0, 0, self.staged - inserted)
        return self._merge_staging(unique, self.staged)

    def _merge_staging(self, unique: bool, staged: int) -> MergeCounts:
        """MERGE the ``staged`` rows of staging into the table."""
        joined = ", ".join((*self.table.key, self.table.order_by, "record_hash"))
        self._execute(f"ANALYZE {STAGING} ({joined})")  # the join plan needs the size and the join columns
        row = self._fetchone(merge_sql(self.table, unique), (self.source, self.batch_id))
        assert row is not None
        inserted, updated, distinct = (int(v) for v in row)
        if distinct < staged:
            self._execute(superseded_sql(self.table), (self.source, self.batch_id))
        return MergeCounts(inserted, updated, distinct - inserted - updated, staged - distinct)

    def _merge_narrow(self, unique: bool) -> MergeCounts:
        """MERGE the staged new and changed rows; rows left out of staging count as unchanged.

        Every row of a key staged more than once goes to staging after all (the newest-per-key pass
        and the superseded quarantine need them), so the counts are those of the MERGE of every row.
        """
        if not unique:
            duplicated = _duplicated(np.concatenate(self._staged_key_hashes))
            for rows, unchanged, hashes in self._held:
                self._put_staging(rows.filter(pa.array(unchanged & np.isin(hashes, duplicated))))
        self._held = []
        distinct = self.staged if unique else self._distinct_keys()
        if not self.copied:
            return MergeCounts(0, 0, distinct, self.staged - distinct)
        joined = ", ".join((*self.table.key, self.table.order_by, "record_hash"))
        self._execute(f"ANALYZE {STAGING} ({joined})")
        row = self._fetchone(merge_sql(self.table, unique, prefiltered=unique), (self.source, self.batch_id))
        assert row is not None
        inserted, updated = int(row[0]), int(row[1])
        if distinct < self.staged:
            self._execute(superseded_sql(self.table), (self.source, self.batch_id))
        return MergeCounts(inserted, updated, distinct - inserted - updated, self.staged - distinct)

    def _distinct_keys(self) -> int:
        keys = pa.concat_tables(self._staged_keys).select(list(self.table.key))
        return keys.group_by(keys.column_names).aggregate([]).num_rows

    def _finish_direct(self, unique: bool) -> MergeCounts:
        """Rebuild the key after a direct COPY; rows of keys that arrived twice are merged from staging first."""
        moved = 0 if unique else self._restage_duplicated_keys()
        self._add_primary_key()
        if not moved:
            return MergeCounts(self.staged, 0, 0, 0)
        merged = self._merge_staging(False, moved)
        return MergeCounts(self.staged - moved + merged.inserted, merged.updated, merged.unchanged, merged.superseded)

    def _restage_duplicated_keys(self) -> int:
        """Move every copied row of a key that arrived more than once into staging, with its ``_ref``.

        The table was truncated in this transaction, so COPY appended rows in the order they
        were copied (it skips the free-space map then); the k-th such row by ``ctid`` is the
        k-th in copy order. The keys are compared pair by pair, and any mismatch stops the load.

        Returns:
            How many rows were moved.
        """
        key = list(self.table.key)
        copied = pa.concat_tables(self._staged_keys)
        copied = copied.append_column("_seq", pa.array(np.arange(copied.num_rows)))
        counts = copied.group_by(key).aggregate([([], "count_all")])
        twice = counts.filter(pc.greater(counts["count_all"], 1)).select(key)
        rows = copied.join(twice, key, join_type="inner").sort_by("_seq")
        self._execute(f"CREATE TEMP TABLE stg_twice ON COMMIT DROP AS SELECT {', '.join(key)} FROM {STAGING} LIMIT 0")
        self._copy.put("stg_twice", twice)
        cols = ", ".join(f"t.{k}" for k in key)
        self._copy.drain()
        self._cur.execute(
            f"SELECT t.ctid::text AS row_tid, {cols} FROM {self.table.qualified_name} t "
            f"JOIN stg_twice d USING ({', '.join(key)}) ORDER BY t.ctid"
        )
        found = self._cur.fetch_arrow_table()
        if found.num_rows != rows.num_rows or not all(found[k].equals(rows[k]) for k in key):
            raise RuntimeError(
                f"{self.table.qualified_name}: the copied rows of duplicated keys could not be matched to their "
                "records in copy order; nothing was loaded"
            )
        moved = pa.table({"row_tid": found["row_tid"], "_ref": rows["_ref"]})
        self._execute("CREATE TEMP TABLE stg_moved (row_tid text, _ref text) ON COMMIT DROP")
        self._copy.put("stg_moved", moved)
        business = ", ".join(self.table.business_columns)
        self._execute(
            f"INSERT INTO {STAGING} ({business}, record_hash, _ref) "
            f"SELECT {', '.join(f't.{c}' for c in self.table.business_columns)}, t.record_hash, m._ref "
            f"FROM {self.table.qualified_name} t JOIN stg_moved m ON t.ctid = m.row_tid::tid"
        )
        self._execute(f"DELETE FROM {self.table.qualified_name} t USING stg_moved m WHERE t.ctid = m.row_tid::tid")
        return moved.num_rows

    def staged_keys_unique(self) -> bool:
        """Whether no key was staged twice in this batch (from 64-bit key hashes; exact only when two collide)."""
        if not self._staged_keys:
            return True
        hashes = np.sort(np.concatenate(self._staged_key_hashes))
        if not np.any(hashes[1:] == hashes[:-1]):
            return True  # distinct hashes, distinct keys; equal hashes are checked on the keys themselves
        keys = pa.concat_tables(self._staged_keys).select(list(self.table.key))
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

    def _drop_primary_key(self) -> str:
        """Drop the key and every other index of the (empty, locked) table; :meth:`_add_primary_key` rebuilds them.

        Building an index once after the load is a sort; keeping it while rows arrive is a random
        insert per row (the paging digest's index, of random 32-byte values, most of all).
        """
        self._drop_secondary_indexes()
        table = self.table.qualified_name
        row = self._fetchone(
            "SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", (table,)
        )
        assert row is not None, f"{table} has no primary key"
        self._execute(f"ALTER TABLE {table} DROP CONSTRAINT {row[0]}")
        return str(row[0])

    def _drop_secondary_indexes(self) -> None:
        self._copy.drain()
        self._cur.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = $1::regclass AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            parameters=(self.table.qualified_name,),
        )
        found = self._cur.fetchall()
        for name, _ in found:
            self._execute(f"DROP INDEX {name}")
        self._secondary_indexes = [definition for _, definition in found]

    def _add_primary_key(self) -> None:
        assert self._primary_key is not None
        self._execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        self._execute(
            f"ALTER TABLE {self.table.qualified_name} ADD CONSTRAINT {self._primary_key} "
            f"PRIMARY KEY ({', '.join(self.table.key)})"
        )
        for definition in self._secondary_indexes:
            self._execute(definition)
        self._secondary_indexes = []

    def _bulk_insert(self, unique_keys: bool) -> int:
        table = self.table.qualified_name
        self._primary_key = self._drop_primary_key()
        self._execute(bulk_insert_sql(self.table, unique_keys), (self.source, self.batch_id))
        self._add_primary_key()
        counted = self._fetchone(f"SELECT count(*) FROM {table}")
        assert counted is not None
        return int(counted[0])

    def derive(self, derivation: Derivation) -> tuple[int, int]:
        """Re-derive a dependent table from the merged rows, in this transaction.

        Returns:
            Rows inserted and updated in the derived table.

        Raises:
            RuntimeError: the batch was merged narrowly, so staging does not hold all of it.
        """
        if self._stored is not None:
            raise RuntimeError(
                f"{self.table.qualified_name}: staging holds only the new and changed rows (a narrow merge); "
                "a mapping with derived tables must not pass direct_first_load"
            )
        row = self._fetchone(derivation.sql(STAGING), (self.source, self.batch_id))
        assert row is not None
        return int(row[0]), int(row[1])

    def flush_quarantine(self) -> None:
        """Move quarantine staging into ``quarantine.record`` (a repeated run adds nothing twice)."""
        self._execute(
            "INSERT INTO quarantine.record (source, batch_id, target_table, record_ref, rule, field, message, raw, "
            "raw_bytes, source_file, source_line) "
            "SELECT $1, $2, $3, CASE WHEN q.n > 1 THEN q.record_ref || '#' || q.n ELSE q.record_ref END, "
            "q.rule, q.field, q.message, q.raw::jsonb, q.raw_bytes, q.source_file, q.source_line "
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
        # a crash here: the load is in, but whoever ran it (an Airflow task) never hears so and runs it again
        faults.checkpoint("load.after_commit")


def _duplicated(hashes: np.ndarray) -> np.ndarray:
    """The values occurring more than once in ``hashes``."""
    ordered = np.sort(hashes)
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


class _StoredDigests:
    """The keys and ``record_hash`` of every stored row, sorted by a 64-bit hash of the key.

    :meth:`unchanged` finds a staged row's stored row by binary search on the key hash and then
    compares the keys themselves, so a hash collision can only make a row look new or changed
    (it is then staged and the MERGE decides), never unchanged.
    """

    def __init__(self, stored: pa.Table, key_hash: np.ndarray, key: list[str]) -> None:
        self.key = key
        self.rows = stored.num_rows
        order = np.argsort(key_hash, kind="stable")
        self._hashes = key_hash[order]
        self._stored = stored.take(pa.array(order))

    @classmethod
    def of(cls, stored: pa.Table, key: list[str]) -> _StoredDigests:
        """Index ``stored`` (the key columns and ``record_hash``, as read from the table)."""
        return cls(stored, key_hashes(stored, key), key)

    def unchanged(self, rows: pa.Table, hashes: np.ndarray) -> np.ndarray:
        """Which of ``rows`` (with ``record_hash``; ``hashes`` of their keys) are stored with the same digest."""
        if not self.rows:
            return np.zeros(rows.num_rows, dtype=bool)
        at = np.minimum(np.searchsorted(self._hashes, hashes), self.rows - 1)
        same = self._hashes[at] == hashes
        stored = self._stored.take(pa.array(at))
        for column in (*self.key, "record_hash"):
            mine = rows[column]
            theirs = stored[column]
            if theirs.type != mine.type:
                try:
                    theirs = theirs.cast(mine.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    return np.zeros(rows.num_rows, dtype=bool)  # not comparable here: all staged, the MERGE decides
            same &= pc.fill_null(pc.equal(mine, theirs), False).to_numpy(zero_copy_only=False)
        return same
