"""Quality of one batch: GX validates the rows the batch wrote; the database judges the key's uniqueness.

Every stored row carries the ledger batch that last wrote it (lineage column ``batch_id``), so
the rows of a batch are ``WHERE batch_id = <batch>``. They are copied (one scan) into an unlogged
scratch table (``quality_batch.<schema>__<table>``), and GX runs the table's row-level
expectations (:func:`quality.gx_suites.batch_suite_for`) on that copy instead of scanning the
whole table once per metric. A batch that wrote every row of the table (a full load) is
validated in place, without the copy.

The one expectation that needs the whole table, the business key's uniqueness, is judged by the
database: a valid unique index on exactly the key columns (the primary key every declared table
has) guarantees it at no cost; without one, the batch's rows whose key occurs more than once in
the whole table are counted in SQL. The result is reported under the same label GX gives the
expectation, so a batch's failures read like the whole-table suite's.

GX runs in memory, warm across the checks of one process (:mod:`quality.gx_warm`): no file
context, no Checkpoint, no Data Docs update per batch. The outcome is recorded in
``quality.batch_validation`` (migration ``0940``). The whole-table suites run once a day
(``quality_daily`` DAG, :func:`quality.gx_suites.run`) and rebuild the Data Docs. A scratch table
lives only while its check runs, under the GX home's lock, so two checks never share one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from connectors.connections import connect
from quality import gx_lock, gx_quiet, gx_suites, gx_warm
from quality.gx_suites import SuiteResult
from schemas.model import Table

log = logging.getLogger(__name__)

SCRATCH_SCHEMA = "quality_batch"
"""Where a batch's rows are copied for GX (created by migration ``0840_quality_batch``)."""


@dataclass(frozen=True)
class BatchRows:
    """Where a batch's rows are, for GX."""

    rows: int
    """Rows of the table the batch wrote (and that still carry its id)."""
    schema: str
    name: str
    whole_table: bool
    """The batch wrote every row of the table: validated in place."""


def scratch_name(table: Table) -> str:
    """The scratch table holding a batch's rows of ``table`` (``shared.population`` → ``shared__population``)."""
    return f"{table.schema}__{table.name}"


def stage_batch(conn: psycopg.Connection, table: Table, batch_id: str) -> BatchRows:
    """Find the batch's rows and, unless they are the whole table, copy them into the scratch table.

    One scan of the table for a batch that wrote part of it (the copy, which counts the rows as
    it goes); whether any row of another batch exists is answered by the first such row.

    Args:
        conn: An autocommit connection to the store.
        table: The table the batch loaded.
        batch_id: The ledger batch id.

    Returns:
        Where GX finds the batch's rows (no scratch table is left when the batch wrote none).
    """
    target = sql.Identifier(table.schema, table.name)
    others = conn.execute(
        sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE batch_id <> %s)").format(target), (batch_id,)
    ).fetchone()
    if not (others and others[0]):
        counted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(target)).fetchone()
        return BatchRows(int(counted[0]) if counted else 0, table.schema, table.name, whole_table=True)
    scratch = sql.Identifier(SCRATCH_SCHEMA, scratch_name(table))
    with conn.transaction():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(scratch))
        copied = conn.execute(
            sql.SQL("CREATE UNLOGGED TABLE {} AS SELECT * FROM {} WHERE batch_id = %s").format(scratch, target),
            (batch_id,),
        ).rowcount
        if not copied:
            conn.execute(sql.SQL("DROP TABLE {}").format(scratch))
    if copied:
        conn.execute(sql.SQL("ANALYZE {}").format(scratch))
    return BatchRows(copied, SCRATCH_SCHEMA, scratch_name(table), whole_table=False)


def key_enforced(conn: psycopg.Connection, table: Table) -> bool:
    """Whether a valid unique index on exactly the key columns makes duplicate keys impossible."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = %s::regclass AND i.indisunique "
        "AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL "
        "AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a "
        "     WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = %s)",
        (table.qualified_name, sorted(table.key)),
    ).fetchone()
    return bool(row and row[0])


def duplicate_key_rows(conn: psycopg.Connection, table: Table, where: BatchRows) -> int:
    """The batch's rows whose key occurs more than once in the whole table (0 when the database enforces the key).

    Summed over every batch of a table, this is the whole-table uniqueness expectation's unexpected count.
    """
    if key_enforced(conn, table):
        return 0
    key = sql.SQL(", ").join(sql.Identifier(k) for k in table.key)
    duplicated = sql.SQL("SELECT {key}, count(*) AS n FROM {target} GROUP BY {key} HAVING count(*) > 1").format(
        key=key, target=sql.Identifier(table.schema, table.name)
    )
    if where.whole_table:
        query = sql.SQL("SELECT coalesce(sum(n), 0) FROM ({}) d").format(duplicated)
    else:  # the batch's own rows with a duplicated key, not the other batches' rows of that key
        query = sql.SQL("SELECT count(*) FROM {} b JOIN ({}) d USING ({})").format(
            sql.Identifier(where.schema, where.name), duplicated, key
        )
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def validate_batch(uri: str, table: Table, batch_id: str, *, home: Path, today: dt.date | None = None) -> SuiteResult:
    """Validate the rows ``batch_id`` wrote to ``table``: GX for the rows, the database for the key.

    Holds the GX home's lock throughout (the scratch table is shared by every check of the table).
    GX runs in this process's warm in-memory context (:mod:`quality.gx_warm`); the outcome is
    recorded in ``quality.batch_validation``, and no Data Docs are written (the daily run's job).

    Args:
        uri: The store (libpq URI).
        table: The table the batch loaded.
        batch_id: The ledger batch id.
        home: The hub's home; the GX project is under it (:func:`quality.gx_suites.gx_root`).
        today: Reference date for "not in the future" expectations.

    Returns:
        The outcome under the table's name: failures and unexpected counts labelled as the
        whole-table suite labels them, ``rows`` the rows of the batch.
    """
    today = today or dt.date.today()
    with gx_lock.locked(gx_suites.gx_root(home)), gx_quiet.quiet_logs(), connect(uri, autocommit=True) as conn:
        where = stage_batch(conn, table, batch_id)
        if not where.rows:  # a batch that wrote nothing (every row unchanged): nothing to validate, no GX import
            log.info("GX batch %s of %s: no rows written, nothing to validate", batch_id, table.qualified_name)
            empty = SuiteResult(table.qualified_name, True, 1, [], 0)
            record(conn, batch_id, empty, whole_table=False)
            return empty
        duplicates = duplicate_key_rows(conn, table, where)
        key = gx_suites.key_expectation(table).configuration  # imports GX: inside the quiet logs
        key_label, key_identity = gx_suites.label(key), gx_suites.identity(key)
        try:
            rows = _run_gx(uri, table, where, today)
        finally:
            if not where.whole_table:  # the copy is needed only while GX reads it
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(where.schema, where.name)))
        failed = [*rows.failed, key_label] if duplicates else rows.failed
        result = SuiteResult(
            table=table.qualified_name,
            success=rows.success and not duplicates,
            evaluated=rows.evaluated + 1,
            failed=failed,
            rows=where.rows,
            unexpected={**rows.unexpected, key_identity: duplicates},
        )
        record(conn, batch_id, result, whole_table=where.whole_table)
    log.info(
        "GX batch %s of %s: %s rows%s, %d expectations evaluated, %d failed",
        batch_id,
        table.qualified_name,
        f"{where.rows:,}",
        " (the whole table)" if where.whole_table else "",
        result.evaluated,
        len(result.failed),
    )
    return result


def _run_gx(uri: str, table: Table, where: BatchRows, today: dt.date) -> SuiteResult:
    """Run the batch suite on the batch's rows in the warm in-memory GX context (no Checkpoint, no Data Docs)."""
    validation = gx_warm.validate(uri, table, where.schema, where.name, today)
    return gx_suites.suite_result(validation, table.qualified_name)


def record(conn: psycopg.Connection, batch_id: str, result: SuiteResult, *, whole_table: bool) -> None:
    """Record a batch's outcome in ``quality.batch_validation`` (a re-check of the batch replaces it)."""
    conn.execute(
        "INSERT INTO quality.batch_validation "
        "(batch_id, table_name, rows, whole_table, success, evaluated, failed, unexpected) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (batch_id, table_name) DO UPDATE SET "
        "validated_at = now(), rows = EXCLUDED.rows, whole_table = EXCLUDED.whole_table, "
        "success = EXCLUDED.success, evaluated = EXCLUDED.evaluated, failed = EXCLUDED.failed, "
        "unexpected = EXCLUDED.unexpected",
        (
            batch_id,
            result.table,
            result.rows or 0,
            whole_table,
            result.success,
            result.evaluated,
            result.failed,
            Jsonb(result.unexpected),
        ),
    )
