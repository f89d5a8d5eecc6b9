"""Versioned migrations plus the additive sync of declared shared tables.

Two mechanisms, each for what it does well:

* ``migrations/NNNN_name.sql`` files for the hub's own tables, applied once each, in order,
  recorded in ``hub.schema_migrations`` with a checksum (an edited, already-applied file is an
  error, not a silent divergence).
* The shared tables are generated from ``schemas/``: created when missing, and new declared
  columns added. A declared type that differs from the stored one stops the upgrade with a
  message asking for a hand-written migration, so data is never rewritten implicitly.

Both run under an advisory lock, so concurrent tasks starting up do not race.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import psycopg

from connectors.connections import connect  # not hub.store.connection: it imports this module
from hub.store.page_order import digest_column_sql, ensure_key
from hub.store.roles import ensure_roles
from schemas.model import Table, comment_sql, create_table_sql, index_sql
from schemas.tables import TABLES

_LOCK_KEY = 640100_0001
_migrated: set[str] = set()


class MigrationError(RuntimeError):
    """The store cannot be brought to the declared version without a human decision."""


def migration_files() -> list[tuple[str, str]]:
    """``(version_name, sql)`` of every migration file, in order."""
    files = resources.files("hub.store").joinpath("migrations")
    found = sorted(p for p in files.iterdir() if p.name.endswith(".sql"))
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in found]


def migrate(uri: str) -> list[str]:
    """Bring the store at ``uri`` to the current version.

    Returns:
        Names of the migrations applied now (empty when already current).
    """
    applied: list[str] = []
    with connect(uri, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute("CREATE SCHEMA IF NOT EXISTS hub")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS hub.schema_migrations ("
                "version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = dict(conn.execute("SELECT version, checksum FROM hub.schema_migrations").fetchall())
            for version, sql in migration_files():
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if version in done:
                    if done[version] != checksum:
                        raise MigrationError(f"migration {version} was changed after it was applied")
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        "INSERT INTO hub.schema_migrations (version, checksum) VALUES (%s, %s)", (version, checksum)
                    )
                applied.append(version)
            if ensure_key(conn):  # before the tables: their paging-digest indexes are built with it
                applied.append("page order key")
            for table in TABLES.values():
                if sync_table(conn, table):
                    applied.append(f"sync {table.qualified_name}")

            ensure_roles(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def sync_table(conn: psycopg.Connection, table: Table) -> bool:
    """Create or extend one declared table. Returns whether anything changed."""
    ddl = create_table_sql(table)
    indexes = index_sql(table) + digest_column_sql(table)
    fingerprint = hashlib.sha256((ddl + "".join(f";{i}" for i in indexes)).encode()).hexdigest()
    stored = conn.execute(
        "SELECT fingerprint FROM hub.declared_table WHERE qualified_name = %s", (table.qualified_name,)
    ).fetchone()
    if stored and stored[0] == fingerprint:
        return False
    with conn.transaction():
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
        conn.execute(ddl)
        existing = dict(
            conn.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                (table.qualified_name,),
            ).fetchall()
        )
        for f in table.all_fields:
            declared = _canonical_type(f.sql_type)
            if f.name not in existing:
                null = " NOT NULL" if not f.nullable else ""
                conn.execute(f"ALTER TABLE {table.qualified_name} ADD COLUMN {f.name} {f.sql_type}{null}")
            elif _canonical_type(existing[f.name]) != declared:
                raise MigrationError(
                    f"{table.qualified_name}.{f.name} is {existing[f.name]} in the store but declared {f.sql_type}: "
                    "write a migration that converts the data"
                )
        # applies to pages written from now on (a table created before the setting keeps its full pages)
        conn.execute(f"ALTER TABLE {table.qualified_name} SET (fillfactor = {table.fillfactor})")
        for stmt in indexes:
            conn.execute(stmt)
        for stmt in comment_sql(table):
            conn.execute(stmt)
        conn.execute(
            "INSERT INTO hub.declared_table (qualified_name, fingerprint) VALUES (%s, %s) "
            "ON CONFLICT (qualified_name) DO UPDATE SET fingerprint = excluded.fingerprint, synced_at = now()",
            (table.qualified_name, fingerprint),
        )
    return True


def _canonical_type(sql_type: str) -> str:
    aliases = {"timestamptz": "timestamp with time zone", "bigint": "bigint", "text": "text"}
    return aliases.get(sql_type, sql_type)


def ensure_migrated(uri: str) -> None:
    """Migrate ``uri`` once per process."""
    if uri not in _migrated:
        migrate(uri)
        _migrated.add(uri)
