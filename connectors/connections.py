"""Airflow connections, turned into the URIs our drivers take.

Every endpoint ShareHub talks to is an Airflow connection (``AIRFLOW_CONN_<ID>`` or any
configured secrets backend), so a deployment points the hub elsewhere without code changes.

Connection extras understood for ``postgres`` connections: ``sslmode``, ``sslrootcert``,
``sslcert``, ``sslkey``, ``connect_timeout``, ``application_name`` and ``options``; they are
passed to libpq unchanged. ``host`` may be a directory, meaning a Unix socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from airflow.sdk import Connection

LIBPQ_EXTRAS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name", "options")


class ConnectionNotDefinedError(LookupError):
    """A connection the hub needs is not defined anywhere Airflow looks."""


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
    conn = get_connection(conn_id)
    if conn is None:
        raise ConnectionNotDefinedError(
            f"Airflow connection {conn_id!r} is not defined (set AIRFLOW_CONN_{conn_id.upper()} or a secrets backend)"
        )
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
