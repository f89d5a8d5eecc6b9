"""A relational table read incrementally into Arrow through ADBC.

The cursor is the pair (cursor column, tiebreak column): rows are read when
``(cursor, tiebreak) > (last cursor, last tiebreak)``, in that order, so rows sharing one
update time are neither skipped nor read twice, wherever a batch or run boundary falls
between them. The tiebreak compares in the "C" collation (byte order), the same order the
saved cursor was taken in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

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
    """

    name: str
    uri: str
    table: str
    cursor_column: str
    tiebreak_column: str
    columns: tuple[str, ...] = field(default_factory=tuple)
    batch_rows: int = 250_000
    cursor_type: str = "timestamp"

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

    def _order(self) -> str:
        if self.tiebreak_column == self.cursor_column:
            return f" ORDER BY {quote_ident(self.cursor_column)}"
        return f' ORDER BY {quote_ident(self.cursor_column)}, {quote_ident(self.tiebreak_column)} COLLATE "C"'

    def read(self, cursor: Cursor | None, until: Cursor | None = None) -> Iterator[ExtractBatch]:
        """Yield the rows after ``cursor`` (and not after ``until``) in cursor order, ``batch_rows`` at a time.

        Each batch's cursor is its last row's (cursor, tiebreak) pair, so any batch boundary is a
        valid point to resume from.
        """
        import adbc_driver_postgresql.dbapi as adbc

        sql, params = self._query(cursor, until)
        sql += self._order()
        read = 0
        try:
            with adbc.connect(self.uri) as conn, conn.cursor() as cur:
                cur.execute(sql, parameters=params or None)
                pending: list[pa.RecordBatch] = []
                pending_rows = 0
                for batch in cur.fetch_record_batch():
                    pending.append(batch)
                    pending_rows += batch.num_rows
                    while pending_rows >= self.batch_rows:
                        data = pa.Table.from_batches(pending)
                        head, rest = data.slice(0, self.batch_rows), data.slice(self.batch_rows)
                        yield self._batch(head, read)
                        read += head.num_rows
                        pending, pending_rows = rest.to_batches(), rest.num_rows
                if pending_rows:
                    yield self._batch(pa.Table.from_batches(pending), read)
        except adbc.Error as err:
            raise SourceError(f"source {self.name}: reading {self.table} failed: {err}") from err

    def _batch(self, data: pa.Table, offset: int) -> ExtractBatch:
        last = data.num_rows - 1
        value = data[self.cursor_column][last].as_py()
        cursor: Cursor = {
            "value": value.isoformat() if hasattr(value, "isoformat") else value,
            "tiebreak": data[self.tiebreak_column][last].as_py(),
        }
        return ExtractBatch(data, cursor, f"{self.table} rows {offset + 1}-{offset + data.num_rows}")
