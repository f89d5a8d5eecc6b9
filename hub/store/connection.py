"""Which PostgreSQL is the shared store, and how to reach it.

The Airflow connection ``hub_store`` wins when it is defined; otherwise the embedded server
under ``$HUB_HOME`` is started (if needed) and its ``sharehub`` database is used.
"""

from __future__ import annotations

from hub.settings import API_STORE_CONN_ID, HUB_DATABASE, STORE_CONN_ID

_provisioned: set[str] = set()


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
    if uri not in _provisioned:
        from hub.store.roles import provision_api_login

        provision_api_login(uri)
        _provisioned.add(uri)
    return uri


def api_store_uri() -> str:
    """The data API's least-privilege URI (role ``<db>__api``, never the store's owner).

    The ``hub_store_api`` connection when it is defined (compose, ``hub up``); otherwise the
    owner's connection gives the role a random password kept under ``$HUB_HOME`` (a checkout
    running ``hub api serve`` or the bench against its own store).
    """
    from connectors.connections import get_connection, libpq_uri
    from hub.store.roles import local_api_uri

    conn = get_connection(API_STORE_CONN_ID)
    if conn is not None:
        return libpq_uri(conn.host, conn.port, conn.login, conn.password, conn.schema, conn.extra_dejson)
    return local_api_uri(store_uri())


def uses_embedded() -> bool:
    """Whether the store is the embedded server (no ``hub_store`` connection defined)."""
    from connectors.connections import get_connection

    return get_connection(STORE_CONN_ID) is None
