"""The store's least-privilege login roles: the data API's, and how it gets its password.

Migration 0810 creates ``<db>__api`` without login: SELECT on ``shared``, what the API reads and
writes in ``access``, and only SELECT + INSERT on the audit. Its password is never in a
migration: whoever migrates (``hub store migrate``, compose's ``airflow-init``, ``hub up``) sets
it from the ``hub_store_api`` connection; without that connection the owner's connection sets a
random one kept in ``$HUB_HOME/airflow/secrets/store_api_password`` (0600, as ``hub up``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from connectors.connections import (
    connect,  # not hub.store.connection: it imports this module
    get_connection,
)
from hub.settings import API_STORE_CONN_ID, hub_home

# Idempotent; run at the end of every migrate(). Roles are cluster-wide, hence the database prefix.
ROLES_SQL = """
DO $$
DECLARE
    db    text := current_database();
    api   text := current_database() || '__api';
    views text := current_database() || '__views';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION '
                       'NOBYPASSRLS', api);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = views) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION '
                       'NOBYPASSRLS', views);
    END IF;
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', db);
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', db, api);
    EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', db, views);
    EXECUTE format('GRANT %I TO %I WITH INHERIT FALSE, SET TRUE', views, api);

    -- the shared tables: read-only, also those the declared-table sync creates later
    EXECUTE format('GRANT USAGE ON SCHEMA shared, access, hub TO %I', api);
    EXECUTE format('GRANT USAGE ON SCHEMA shared, access TO %I', views);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA shared TO %I, %I', api, views);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA shared GRANT SELECT ON TABLES TO %I, %I',
                   api, views);

    -- access: what the API reads and writes; the audit only SELECT + INSERT
    EXECUTE format('GRANT SELECT ON access.department, access.sql_access TO %I', api);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON access.api_key, access.application, access.objection '
                   'TO %I', api);
    EXECUTE format('GRANT UPDATE (synced_at) ON access.sql_access TO %I', api);
    EXECUTE format('GRANT SELECT, INSERT ON access.audit TO %I', api);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON access.audit_head TO %I', api);
    -- the API's guard and budgets (migration 0820): counters it writes, limits and officers it only reads
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON access.auth_failure, access.query_usage TO %I', api);
    EXECUTE format('GRANT SELECT ON access.query_budget, access.officer TO %I', api);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA access TO %I', api);
    EXECUTE format('GRANT SELECT ON access.application TO %I', views);
    EXECUTE format('GRANT INSERT ON access.sql_read TO %I', views);
    -- tables added to access later (budgets, counters) are readable and writable, never deletable
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA access GRANT SELECT, INSERT, UPDATE ON TABLES '
                   'TO %I', api);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA access GRANT USAGE ON SEQUENCES TO %I', api);
    EXECUTE format('GRANT SELECT ON hub.working_calendar TO %I', api);
END
$$;
-- the departments' roles may connect; their schemas and views belong to the views owner, never a superuser
DO $$
DECLARE
    views text := current_database() || '__views';
    s record;
    v record;
BEGIN
    FOR s IN SELECT role_name FROM access.sql_access JOIN pg_roles ON rolname = role_name LOOP
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), s.role_name);
    END LOOP;
    FOR s IN SELECT lower(dept_code) AS d FROM access.sql_access LOOP  -- the read counters (sqlviews)
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS access.%I', 'sql_reads_' || s.d);
        EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE access.%I TO %I', 'sql_reads_' || s.d, views);
    END LOOP;
    FOR s IN SELECT schema_name FROM access.sql_access JOIN pg_namespace ON nspname = schema_name LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', s.schema_name, views);
        FOR v IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = s.schema_name AND c.relkind = 'v' LOOP
            EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', s.schema_name, v.relname, views);
        END LOOP;
    END LOOP;
END
$$;
"""


def ensure_roles(conn: psycopg.Connection) -> None:
    """Create the API and views-owner roles of this database if missing and (re)apply their grants."""
    conn.execute(ROLES_SQL)


def api_role(conn: psycopg.Connection) -> str:
    """The data API's role in the store behind ``conn``."""
    return conn.execute("SELECT current_database()").fetchone()[0] + "__api"


def set_login(conn: psycopg.Connection, role: str, password: str) -> None:
    """Let ``role`` log in with ``password`` (stored as SCRAM-SHA-256)."""
    with conn.transaction():
        conn.execute("SET LOCAL password_encryption = 'scram-sha-256'")
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))


def provision_api_login(admin_uri: str) -> None:
    """Set the API role's password from the ``hub_store_api`` connection, when it is defined.

    Raises:
        ValueError: the connection logs in as another role, or has no password.
    """
    defined = get_connection(API_STORE_CONN_ID)
    if defined is None:
        return
    with connect(admin_uri, autocommit=True) as conn:
        role = api_role(conn)
        if defined.login != role or not defined.password:
            raise ValueError(
                f"connection {API_STORE_CONN_ID!r} must log in as {role} with a password "
                f"(it has login {defined.login!r}{'' if defined.password else ' and no password'})"
            )
        set_login(conn, role, defined.password)


def _persistent_password(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def local_api_uri(admin_uri: str) -> str:
    """The API role's URI on the store behind ``admin_uri``, its password kept under ``$HUB_HOME``."""
    password = _persistent_password(hub_home() / "airflow" / "secrets" / "store_api_password")  # as `hub up`
    with connect(admin_uri, autocommit=True) as conn:
        role = api_role(conn)
        set_login(conn, role, password)
    return with_login(admin_uri, role, password)


def with_login(uri: str, user: str, password: str) -> str:
    """``uri`` (``postgresql://user:pw@host/db?...``) with another user and password."""
    scheme, _, rest = uri.partition("://")
    netloc, _, tail = rest.partition("/")
    host = netloc.rpartition("@")[2]
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{host}/{tail}"
