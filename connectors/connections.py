"""Airflow connections, turned into the URIs our drivers take.

Every endpoint ShareHub talks to is an Airflow connection (``AIRFLOW_CONN_<ID>`` or any
configured secrets backend), so a deployment points the hub elsewhere without code changes.

Connection extras understood for ``postgres`` connections: ``sslmode``, ``sslrootcert``,
``sslcert``, ``sslkey``, ``connect_timeout``, ``application_name`` and ``options``; they are
passed to libpq unchanged. ``host`` may be a directory, meaning a Unix socket.

:func:`connect` is the one way production code opens a PostgreSQL connection (the hub's
``hub.store.connection.connect`` is the same call with the shared store as default URI).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    import psycopg
    from airflow.sdk import Connection
    from psycopg.rows import RowFactory

LIBPQ_EXTRAS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name", "options")


APPLICATION_NAME_PREFIX = "sharehub:"


def connect(
    uri: str,
    *,
    autocommit: bool = False,
    row_factory: RowFactory[Any] | None = None,
    application_name: str | None = None,
    stacklevel: int = 1,
) -> psycopg.Connection[Any]:
    """Open a psycopg connection to ``uri``, named after the module that opens it.

    Args:
        uri: A libpq URI or conninfo string.
        autocommit: ``False`` (psycopg's default): statements run in a transaction that commits when
            the ``with`` block ends without an error. ``True``: each statement commits at once; use
            ``conn.transaction()`` for atomic work (DDL that cannot run in a transaction, pools).
        row_factory: How rows come back, e.g. ``psycopg.rows.dict_row``; tuples when ``None``.
        application_name: What ``pg_stat_activity`` and the server log show for this session.
            By default ``sharehub:<module>`` for the calling module, unless ``uri`` sets one
            (a connection's ``application_name`` extra wins over the default, never over an explicit name).
        stacklevel: Which frame names the caller: 1 is the function calling ``connect``; a wrapper
            adds one per level it adds.

    Returns:
        The open connection (usable as a context manager, which closes it).
    """
    # Imported here: every DAG file imports this module, and importing psycopg costs ~0.3 s of CPU (measured).
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    if application_name is None and "application_name" not in conninfo_to_dict(uri):
        application_name = APPLICATION_NAME_PREFIX + sys._getframe(stacklevel).f_globals.get("__name__", "?")
    extra: dict[str, Any] = {} if application_name is None else {"application_name": application_name}
    return psycopg.connect(uri, autocommit=autocommit, row_factory=row_factory, **extra)


class ConnectionNotDefinedError(LookupError):
    """A connection the hub needs is not defined anywhere Airflow looks, or lacks a field it needs.

    The message names the connection id and how to define it.
    """

    def __init__(self, conn_id: str, purpose: str | None = None, missing: tuple[str, ...] = ()) -> None:
        self.conn_id = conn_id
        self.missing = missing
        what = f"Airflow connection {conn_id!r}" + (f" ({purpose})" if purpose else "")
        state = f"has no {', '.join(missing)}" if missing else "is not defined"
        super().__init__(
            f"{what} {state}: set AIRFLOW_CONN_{conn_id.upper()} or run `airflow connections add {conn_id}` "
            "(or define it in a secrets backend)"
        )


def require_connection(conn_id: str, purpose: str | None = None, fields: tuple[str, ...] = ()) -> Connection:
    """The Airflow connection ``conn_id``, which must define every one of ``fields``.

    Args:
        conn_id: The connection id.
        purpose: What the connection is for, named in the error (e.g. "certificate signing key").
        fields: Attributes that must be non-empty (``host``, ``login``, ...); ``extra.<key>`` for an extra.

    Raises:
        ConnectionNotDefinedError: if it is not defined or lacks one of ``fields``.
    """
    conn = get_connection(conn_id)
    if conn is None:
        raise ConnectionNotDefinedError(conn_id, purpose)
    missing = tuple(f for f in fields if not _field(conn, f))
    if missing:
        raise ConnectionNotDefinedError(conn_id, purpose, missing)
    return conn


def _field(conn: Connection, name: str) -> Any:
    if name.startswith("extra."):
        return (conn.extra_dejson or {}).get(name.removeprefix("extra."))
    return getattr(conn, name, None)


def get_connection(conn_id: str) -> Connection | None:
    """Look ``conn_id`` up through Airflow's secrets backends; ``None`` if it is not defined."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def postgres_uri(conn_id: str) -> str:
    """The libpq URI of a ``postgres`` Airflow connection.

    Raises:
        ConnectionNotDefinedError: if the connection is not defined.
    """
    conn = require_connection(conn_id)
    return libpq_uri(conn.host, conn.port, conn.login, conn.password, conn.schema, conn.extra_dejson)


def libpq_uri(
    host: str | None,
    port: int | None,
    login: str | None,
    password: str | None,
    database: str | None,
    extras: dict[str, Any] | None = None,
) -> str:
    """Build a libpq connection URI; a ``host`` starting with ``/`` is a socket directory."""
    auth = ""
    if login:
        auth = quote(login, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        auth += "@"
    params: dict[str, str] = {k: str(v) for k, v in (extras or {}).items() if k in LIBPQ_EXTRAS}
    netloc = ""
    if host and host.startswith("/"):
        params = {"host": host, **({"port": str(port)} if port else {}), **params}
    elif host:
        netloc = host + (f":{port}" if port else "")
    query = ("?" + urlencode(params)) if params else ""
    return f"postgresql://{auth}{netloc}/{quote(database or 'postgres', safe='')}{query}"


def postgres_connection_json(uri_host: str, database: str, login: str = "postgres", port: int | None = None) -> str:
    """The JSON form of an ``AIRFLOW_CONN_*`` value for a PostgreSQL database (used by the demo and tests)."""
    import json

    conn: dict[str, Any] = {"conn_type": "postgres", "host": uri_host, "login": login, "schema": database}
    if port:
        conn["port"] = port
    return json.dumps(conn)
