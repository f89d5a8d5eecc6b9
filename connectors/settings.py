"""Typed connector settings, one class per connector kind; the source registry declares one per source.

Each class holds what its connector needs besides the source's Airflow connection and mapping,
and builds the connector from them. The registry is not known here: a settings object is given
the source's name, its connection id and the source columns its mapping declares.

The connector modules (pyarrow, ADBC) are imported inside ``build``: DAG files import the
registry, and with it this module, at parse time (``tests/dags/test_integrity.py`` keeps that
parse free of heavy modules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.connections import get_connection, postgres_uri, require_connection

# DAG files import these settings at parse time (through the registry): each connector module
# (pyarrow, ADBC, requests) is imported inside the build() that needs it.
if TYPE_CHECKING:
    from connectors.file_drop import FileDropSource
    from connectors.rest_paged import RestPagedSource
    from connectors.sql_table import SqlTableSource


@dataclass(frozen=True)
class SqlTable:
    """Incremental reads of one table of a PostgreSQL source (a ``postgres`` connection).

    Attributes:
        table: Table name, optionally ``schema.table``.
        cursor_column: A column that grows on every insert and update (e.g. ``GXSJ``).
        tiebreak_column: A unique column ordering rows that share a cursor value (the cursor
            column itself when it is unique, e.g. a log's sequence number).
        cursor_type: SQL type of the cursor column.
    """

    table: str
    cursor_column: str
    tiebreak_column: str
    cursor_type: str = "timestamp"

    def build(self, name: str, conn_id: str, source_columns: tuple[str, ...]) -> SqlTableSource:
        """The connector on the source's connection (all columns are read; the mapping checks them)."""
        from connectors.sql_table import SqlTableSource

        return SqlTableSource(
            name=name,
            uri=postgres_uri(conn_id),
            table=self.table,
            cursor_column=self.cursor_column,
            tiebreak_column=self.tiebreak_column,
            cursor_type=self.cursor_type,
        )

    def lineage_input(self, conn_id: str) -> str | None:
        """The read table as an OpenLineage dataset URI on the connection's host, or None without a connection."""
        conn = get_connection(conn_id)
        if conn is None:
            return None
        host = conn.host or "localhost"
        if host.startswith("/"):  # a Unix socket: the database is on the hub's own machine
            host = "localhost"
        schema, _, table = self.table.rpartition(".")
        return f"postgres://{host}:{conn.port or 5432}/{conn.schema or 'postgres'}/{schema or 'public'}/{table}"


@dataclass(frozen=True)
class FileDrop:
    """Complete CSV deliveries in the inbox of an ``fs`` connection (its extra ``path``).

    Attributes:
        pattern: Glob of the data files; their names sort in delivery order.
    """

    pattern: str

    def build(self, name: str, conn_id: str, source_columns: tuple[str, ...]) -> FileDropSource:
        """The connector; the declared header is the source columns less the lineage the connector adds."""
        from connectors.file_drop import LINEAGE_COLUMNS, FileDropSource, inbox_from_connection

        header = tuple(c for c in source_columns if c not in LINEAGE_COLUMNS)
        return FileDropSource(name=name, inbox=inbox_from_connection(conn_id), columns=header, pattern=self.pattern)

    def lineage_input(self, conn_id: str) -> str | None:
        """No input dataset is reported for a file drop (the files change name every day)."""
        return None


@dataclass(frozen=True)
class RestPaged:
    """A paged REST API behind a bearer token (an ``http`` connection: login app id, password app secret).

    The connection's extras override the tuning (``page_size``, timeouts, retries): see
    :mod:`connectors.rest_paged`.

    Attributes:
        path: The paged resource, e.g. ``/api/v1/insured-persons``.
        cursor_field: The field the API orders and resumes by (a time).
        tiebreak_field: Orders rows that share a cursor value.
        key_field: Tells apart rows that share cursor and tiebreak (e.g. the insurance type).
        token_path: Where the token is obtained.
        optional_fields: Declared source columns a page may omit.
        page_size: Rows per page (1..1000).
    """

    path: str
    cursor_field: str
    tiebreak_field: str
    key_field: str
    token_path: str = "/api/v1/token"
    optional_fields: tuple[str, ...] = ()
    page_size: int = 1000

    def options(self, source_columns: tuple[str, ...]) -> dict[str, Any]:
        """The settings as :func:`connectors.rest_paged.build` takes them, expecting ``source_columns``."""
        return {
            "fields": source_columns,
            "path": self.path,
            "token_path": self.token_path,
            "optional_fields": self.optional_fields,
            "cursor_field": self.cursor_field,
            "tiebreak_field": self.tiebreak_field,
            "key_field": self.key_field,
            "page_size": self.page_size,
        }

    def build(self, name: str, conn_id: str, source_columns: tuple[str, ...]) -> RestPagedSource:
        """The connector on the source's connection."""
        from connectors.rest_paged import build

        return build(name, require_connection(conn_id), self.options(source_columns))

    def lineage_input(self, conn_id: str) -> str | None:
        """No input dataset is reported for an API (OpenLineage has no naming for a REST resource)."""
        return None


ConnectorSettings = SqlTable | FileDrop | RestPaged
"""The connector kinds a source may declare."""
