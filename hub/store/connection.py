"""Which PostgreSQL is the shared store, and how to reach it.

The Airflow connection ``hub_store`` wins when it is defined; otherwise the embedded server
under ``$HUB_HOME`` is started (if needed) and its ``sharehub`` database is used.
:func:`connect` opens a connection to it (or to any other URI); it is the one way hub code connects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors import connections
from connectors.connections import get_connection, libpq_uri
from hub.settings import API_STORE_CONN_ID, HUB_DATABASE, STORE_CONN_ID

# DAG files import this module at parse time (through the registry); the embedded server, the
# migrations and the roles are imported inside the functions that start, migrate or provision the
# store, as they would add about 190 modules (pyarrow among them) to every DAG-file parse.

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import RowFactory

_provisioned: set[str] = set()


def connect(
    uri: str | None = None,
    *,
    autocommit: bool = False,
    row_factory: RowFactory[Any] | None = None,
    application_name: str | None = None,
) -> psycopg.Connection[Any]:
    """Open a connection to the shared store, or to ``uri`` when given.

    The options are :func:`connectors.connections.connect`'s: ``autocommit`` (default ``False``:
    one transaction per ``with`` block), ``row_factory`` (tuples by default) and ``application_name``
    (by default ``sharehub:<calling module>``).
    """
    return connections.connect(
        uri if uri is not None else store_uri(),
        autocommit=autocommit,
        row_factory=row_factory,
        application_name=application_name,
        stacklevel=2,
    )


def store_uri() -> str:
    """The libpq URI of the shared store (migrated to the current version)."""
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
    from hub.store.roles import local_api_uri

    conn = get_connection(API_STORE_CONN_ID)
    if conn is not None:
        return libpq_uri(conn.host, conn.port, conn.login, conn.password, conn.schema, conn.extra_dejson)
    return local_api_uri(store_uri())


def uses_embedded() -> bool:
    """Whether the store is the embedded server (no ``hub_store`` connection defined)."""
    return get_connection(STORE_CONN_ID) is None
