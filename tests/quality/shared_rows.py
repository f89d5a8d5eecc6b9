"""Helpers to put department rows straight into the shared tables (for sources whose ingest is built elsewhere)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg import sql

from schemas.tables import TABLES

LOADED_AT = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def insert(uri: str, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows (business columns; the rest null) with lineage columns filled in."""
    declared = TABLES[table]
    columns = [*declared.business_columns, "source_system", "batch_id", "loaded_at", "record_hash"]
    schema, name = table.split(".")
    stmt = sql.SQL("INSERT INTO {}.{} ({}) VALUES ({})").format(
        sql.Identifier(schema),
        sql.Identifier(name),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(sql.Placeholder() for _ in columns),
    )
    lineage = {"source_system": "test", "batch_id": "test:direct", "loaded_at": LOADED_AT, "record_hash": "x"}
    with psycopg.connect(uri) as conn:
        for row in rows:
            values = {**lineage, "source_updated_at": LOADED_AT, **row}
            conn.execute(stmt, [values.get(c) for c in columns])
