"""Loading a generated source table into a simulator database."""

from __future__ import annotations

import pyarrow as pa


def recreate(uri: str, name: str, ddl: str, data: pa.Table) -> None:
    """Drop table ``name`` at ``uri``, run ``ddl`` (``;``-separated statements), bulk-load ``data``, analyse.

    Args:
        uri: libpq URI of the simulator database.
        name: The table name as written in SQL (quoted if it needs quotes).
        ddl: Statements creating the table and its indexes.
        data: The rows, with the table's column names.
    """
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        for stmt in ddl.split(";"):
            if stmt.strip():
                cur.execute(stmt)
        cur.adbc_ingest(name.strip('"'), data, mode="append")
        cur.execute(f"ANALYZE {name}")
        conn.commit()
