"""Helpers to put department rows straight into the shared tables (for sources whose ingest is built elsewhere)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg import sql

from schemas.tables import TABLES

LOADED_AT = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def insert(uri: str, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows (business columns; the rest null) with lineage columns filled in.

    A table whose key is personal also gets each row's paging digest, which its writer supplies
    (``hub.store.page_order``), as the loader does.
    """
    import pyarrow as pa

    from hub.store.page_order import DIGEST_COLUMN, Digester, has_personal_key

    declared = TABLES[table]
    columns = [*declared.business_columns, "source_system", "batch_id", "loaded_at", "record_hash"]
    digested = has_personal_key(declared)
    if digested:
        columns.append(DIGEST_COLUMN)
    schema, name = table.split(".")
    stmt = sql.SQL("INSERT INTO {}.{} ({}) VALUES ({})").format(
        sql.Identifier(schema),
        sql.Identifier(name),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(sql.Placeholder() for _ in columns),
    )
    lineage = {"source_system": "test", "batch_id": "test:direct", "loaded_at": LOADED_AT, "record_hash": "x"}
    with psycopg.connect(uri) as conn:
        digester = Digester.read(declared, conn.cursor()) if digested else None
        for row in rows:
            values = {**lineage, "source_updated_at": LOADED_AT, **row}
            if digester is not None:
                keys = pa.table({k: [values[k]] for k in declared.key})
                values[DIGEST_COLUMN] = digester.digests(keys)[0].as_py()
            conn.execute(stmt, [values.get(c) for c in columns])
