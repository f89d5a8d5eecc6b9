"""Which PostgreSQL is the shared store, and how to reach it.

The Airflow connection ``hub_store`` wins when it is defined; otherwise the embedded server
under ``$HUB_HOME`` is started (if needed) and its ``sharehub`` database is used.
"""

from __future__ import annotations

from hub.settings import HUB_DATABASE, STORE_CONN_ID


def store_uri() -> str:
    """The libpq URI of the shared store (migrated to the current version)."""
    from connectors.connections import get_connection, libpq_uri
    from hub.store import embedded
    from hub.store.migrate import ensure_migrated

    conn = get_connection(STORE_CONN_ID)
    if conn is not None:
        uri = libpq_uri(conn.host, conn.port, conn.login, conn.password, conn.schema, conn.extra_dejson)
    else:
        uri = embedded.ensure_database(embedded.start(), HUB_DATABASE)
    ensure_migrated(uri)
    return uri


def uses_embedded() -> bool:
    """Whether the store is the embedded server (no ``hub_store`` connection defined)."""
    from connectors.connections import get_connection

    return get_connection(STORE_CONN_ID) is None
