"""Simulator databases on the embedded server: (re)create one and name its Airflow connection."""

from __future__ import annotations

from collections.abc import Callable


def reset_database(admin_uri: str, database: str) -> str:
    """Drop and create ``database`` on the server of ``admin_uri``; return its URI."""
    import psycopg
    from psycopg import sql

    from hub.store.embedded import database_uri

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return database_uri(admin_uri, database)


def connection_env(conn_id: str, admin_uri: str, database: str) -> dict[str, str]:
    """The ``AIRFLOW_CONN_<ID>`` variable pointing ``conn_id`` at ``database`` on the embedded server."""
    from connectors.connections import postgres_connection_json
    from hub.store.embedded import socket_dir_of

    return {f"AIRFLOW_CONN_{conn_id.upper()}": postgres_connection_json(socket_dir_of(admin_uri), database)}


def provision_database(admin_uri: str, database: str, conn_id: str, fill: Callable[[str], object]) -> dict[str, str]:
    """Recreate ``database``, ``fill`` it (given its URI), and return the connection variable for ``conn_id``."""
    fill(reset_database(admin_uri, database))
    return connection_env(conn_id, admin_uri, database)
