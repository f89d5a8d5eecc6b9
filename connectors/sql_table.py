"""A relational table read incrementally into Arrow through ADBC.

The cursor is the pair (cursor column, tiebreak column): rows are read when
``(cursor, tiebreak) > (last cursor, last tiebreak)``. Rows are delivered in cursor order and
a batch never splits a group of rows sharing one cursor value, so rows sharing one update
time are neither skipped nor read twice, wherever a batch or run boundary falls. The
tiebreak compares in the "C" collation (byte order), the order Arrow's max uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import Cursor, ExtractBatch, SourceError


def quote_ident(name: str) -> str:
    """Quote a SQL identifier (source systems use upper-case names)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class SqlTableSource:
    """An incremental reader of one table.

    Attributes:
        name: Source registry name (for messages).
        uri: libpq URI of the source database.
        table: Table name, optionally ``schema.table``.
        cursor_column: A column that grows on every insert and update (e.g. ``GXSJ``).
        tiebreak_column: A unique column ordering rows that share a cursor value; the cursor
            column itself when it is unique (e.g. an append-only log's sequence number).
        columns: Columns to read; all when empty.
        batch_rows: Rows per yielded batch.
        cursor_type: SQL type of the cursor column, for binding the saved cursor value.
        order: ``server`` sorts in the source database and streams (memory bounded by
            ``batch_rows``); ``client`` reads the whole window and sorts it in Arrow, several
            times faster for a large first load but holding the window in memory.
    """

    name: str
    uri: str
    table: str
    cursor_column: str
    tiebreak_column: str
    columns: tuple[str, ...] = field(default_factory=tuple)
    batch_rows: int = 250_000
    cursor_type: str = "timestamp"
    order: str = "server"

    def _query(self, cursor: Cursor | None, until: Cursor | None) -> tuple[str, list[object]]:
        cur, tie = quote_ident(self.cursor_column), quote_ident(self.tiebreak_column)
        table = ".".join(quote_ident(p) for p in self.table.split("."))
        select = ", ".join(quote_ident(c) for c in self.columns) if self.columns else "*"
        where: list[str] = []
        params: list[object] = []
        cast = self.cursor_type
        if self.tiebreak_column == self.cursor_column:
            return self._unique_cursor_query(select, table, cursor, until)
        if cursor is not None:
            params += [cursor["value"], cursor["tiebreak"]]
            where.append(
                f"({cur} > ${len(params) - 1}::{cast} OR ({cur} = ${len(params) - 1}::{cast} "
                f'AND {tie} COLLATE "C" > ${len(params)}))'
            )
        if until is not None:
            params += [until["value"], until["tiebreak"]]
            where.append(
                f"({cur} < ${len(params) - 1}::{cast} OR ({cur} = ${len(params) - 1}::{cast} "
                f'AND {tie} COLLATE "C" <= ${len(params)}))'
            )
        sql = f"SELECT {select} FROM {table}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql, params

    def _unique_cursor_query(
        self, select: str, table: str, cursor: Cursor | None, until: Cursor | None
    ) -> tuple[str, list[object]]:
        cur, cast = quote_ident(self.cursor_column), self.cursor_type
        where, params = [], []
        if cursor is not None:
            params.append(cursor["value"])
            where.append(f"{cur} > ${len(params)}::{cast}")
        if until is not None:
            params.append(until["value"])
            where.append(f"{cur} <= ${len(params)}::{cast}")
        return f"SELECT {select} FROM {table}" + (" WHERE " + " AND ".join(where) if where else ""), params

    def read(self, cursor: Cursor | None, until: Cursor | None = None) -> Iterator[ExtractBatch]:
        """Yield the rows after ``cursor`` (and not after ``until``) in cursor order, about ``batch_rows`` at a time.

        Batches end only where the cursor value changes, so every row sharing a value is in the
        same batch, and each batch's cursor (its last value, with the largest tiebreak of that
        value) is a valid point to resume from.
        """
        import adbc_driver_postgresql.dbapi as adbc

        sql, params = self._query(cursor, until)
        if self.order == "server":
            sql += f" ORDER BY {quote_ident(self.cursor_column)}"
        read = 0
        try:
            with adbc.connect(self.uri) as conn, conn.cursor() as cur:
                if cursor is None and self.order == "server":
                    # A first load reads the whole table: a sequential scan and a sort beat an index
                    # scan in cursor order, whose heap reads are random (3M rows: 2.9 s vs 11.1 s).
                    # Incremental windows keep the planner's choice, an index range scan.
                    cur.execute("SET LOCAL enable_indexscan = off")
                cur.execute(sql, parameters=params or None)
                if self.order == "client":
                    data = cur.fetch_arrow_table()
                    data = data.take(pc.sort_indices(data[self.cursor_column]))
                    for head in self._group_aligned(data, final=True):
                        yield self._batch(head, read)
                        read += head.num_rows
                    return
                pending: list[pa.RecordBatch] = []
                pending_rows = 0
                for batch in cur.fetch_record_batch():
                    pending.append(batch)
                    pending_rows += batch.num_rows
                    if pending_rows >= self.batch_rows:
                        data = pa.Table.from_batches(pending)
                        emitted = 0
                        for head in self._group_aligned(data, final=False):
                            yield self._batch(head, read)
                            read += head.num_rows
                            emitted += head.num_rows
                        rest = data.slice(emitted)
                        pending, pending_rows = rest.to_batches(), rest.num_rows
                if pending_rows:
                    yield self._batch(pa.Table.from_batches(pending), read)
        except adbc.Error as err:
            raise SourceError(f"source {self.name}: reading {self.table} failed: {err}") from err

    def _group_aligned(self, data: pa.Table, *, final: bool) -> Iterator[pa.Table]:
        """Cut ``data`` (sorted on the cursor column) into slices that end where the cursor value changes.

        Each slice has at least ``batch_rows`` rows (the last one may have fewer). Unless ``final``,
        the last value group is held back: it may continue in the next driver batch.
        """
        if data.num_rows == 0:
            return
        values = data[self.cursor_column]
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        keys = values.cast(pa.int64()).to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])  # first row of each value group
        ends = np.r_[starts[1:], len(keys)]
        if not final:
            ends = ends[:-1]  # the last group may continue in the next driver batch
        begin = 0
        for end in ends:
            if end - begin >= self.batch_rows or (final and end == len(keys)):
                yield data.slice(begin, end - begin)
                begin = end

    def _batch(self, data: pa.Table, offset: int) -> ExtractBatch:
        values = data[self.cursor_column]
        last = values[data.num_rows - 1].as_py()
        same = pc.equal(values, values[data.num_rows - 1])
        tie = pc.max(pc.filter(data[self.tiebreak_column], same)).as_py()
        cursor: Cursor = {"value": last.isoformat() if hasattr(last, "isoformat") else last, "tiebreak": tie}
        return ExtractBatch(data, cursor, f"{self.table} rows {offset + 1}-{offset + data.num_rows}")
