"""Direct SQL access: one PostgreSQL role and one schema of views per department, from its grants.

``dept_<code>.<table>`` selects only the fields the department may read, masked by the same
rules as the API (:func:`hub.access.masking.mask_sql`). A field or unmasking that comes from a
grant is guarded by a check that the grant is still approved and unexpired *at query time*, so
an expiring grant needs no regeneration. The views are ``security_barrier`` and owned by the
hub's views owner (``<db>__views``, migration 0810: it reads ``shared`` and the grants, nothing
else), not by a superuser; the role gets CONNECT, USAGE on its schema and SELECT on its views
only, never on ``shared``. Its password is stored as SCRAM-SHA-256 and the embedded server
requires it (:mod:`hub.store.embedded`).

:func:`enable` never adopts a role it did not create: a role of the same name that is not this
department's recorded role (someone else's, or one made by hand with other rights) is refused.
"""

from __future__ import annotations

import secrets

import psycopg
from psycopg import sql

from hub.access.audit import AuditEvent, append
from hub.access.catalogue import tables
from hub.access.field_access import FieldAccess, field_access
from hub.access.masking import mask_sql
from schemas.model import PersonalClass


def role_name(conn: psycopg.Connection, dept: str) -> str:
    """The login role of ``dept`` (prefixed by the database, as roles are cluster-wide)."""
    db = conn.execute("SELECT current_database()").fetchone()[0]
    return f"{db}_{dept}".lower()[:63]


def views_owner(conn: psycopg.Connection) -> str:
    """The role that owns every department's schema and views (created by migration 0810)."""
    db = conn.execute("SELECT current_database()").fetchone()[0]
    return f"{db}__views"


class RoleExistsError(RuntimeError):
    """A role of the department's name exists but is not the department's recorded role."""


def schema_name(dept: str) -> str:
    """The schema holding ``dept``'s views."""
    return f"dept_{dept}".lower()


def _active(ids: list[int]) -> str:
    listed = ",".join(str(int(i)) for i in ids)
    return (
        "EXISTS (SELECT 1 FROM access.application g WHERE g.id IN ("
        + listed
        + ") AND g.status = 'approved' AND (g.expires_at IS NULL OR g.expires_at > now()))"
    )


def column_sql(name: str, a: FieldAccess) -> str:
    """The view column for one field: the value, masked, or NULL, depending on live grants."""
    clear = name
    masked = mask_sql(a.personal, name)
    if a.personal is PersonalClass.NONE:
        value = clear
    elif a.unmask_grants:
        value = f"CASE WHEN {_active(a.unmask_grants)} THEN {clear} ELSE {masked} END"
    else:
        value = masked
    if not a.base:
        value = f"CASE WHEN {_active(a.grants)} THEN {value} END"
    return f"{value} AS {name}"


def view_sql(schema: str, table_name: str, qualified: str, access: dict[str, FieldAccess]) -> str | None:
    """``CREATE VIEW`` for one table, or ``None`` when nothing in it is readable."""
    readable = {n: a for n, a in access.items() if a.readable}
    if not readable:
        return None
    cols = ",\n    ".join(column_sql(n, a) for n, a in readable.items())
    where = ""
    if not any(a.base for a in readable.values()):
        every = sorted({g for a in readable.values() for g in a.grants})
        where = f"\nWHERE {_active(every)}"
    return f"CREATE VIEW {schema}.{table_name} WITH (security_barrier) AS SELECT\n    {cols}\nFROM {qualified}{where}"


def enable(conn: psycopg.Connection, dept: str) -> tuple[str, str]:
    """Create ``dept``'s login role (new random password) and its views. Returns (role, password)."""
    role = role_name(conn, dept)
    password = secrets.token_urlsafe(24)
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        ours = conn.execute(
            "SELECT 1 FROM access.sql_access WHERE dept_code = %s AND role_name = %s", (dept, role)
        ).fetchone()
        if exists and not ours:
            raise RoleExistsError(
                f"a PostgreSQL role {role} already exists and was not created for department {dept} by the hub; "
                "refusing to adopt it (and its privileges): drop or rename it first"
            )
        verb = "ALTER" if exists else "CREATE"
        conn.execute("SET LOCAL password_encryption = 'scram-sha-256'")
        conn.execute(
            sql.SQL(
                verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS "
                "PASSWORD {}"
            ).format(sql.Identifier(role), sql.Literal(password))
        )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(conn.execute("SELECT current_database()").fetchone()[0]), sql.Identifier(role)
            )
        )
        conn.execute(
            "INSERT INTO access.sql_access (dept_code, role_name, schema_name) VALUES (%s, %s, %s) "
            "ON CONFLICT (dept_code) DO NOTHING",
            (dept, role, schema_name(dept)),
        )
        ensure_counter(conn, dept)
        sync(conn, dept)
    return role, password


def source_schema(dept: str) -> str:
    """The views owner's private schema behind ``dept``'s views (the filtered, masked selects)."""
    return f"{schema_name(dept)}_src"


def read_counter(dept: str) -> str:
    """The sequence numbering ``dept``'s view reads (non-transactional: a rolled-back read still counts)."""
    return f"access.sql_reads_{dept.lower()}"


def _audited_read(src: str, name: str, dept: str, view: str) -> str:
    """A SECURITY DEFINER function returning the rows of ``src.name`` and recording the read.

    ``nextval`` numbers the read outside the reader's transaction; the row in ``access.sql_read``
    (view, time, rows) is written in it, so a read whose transaction is rolled back leaves a gap
    that :func:`hub.access.sqlreads.ingest` reports.
    """
    return (
        f"CREATE FUNCTION {src}.read_{name}() RETURNS SETOF {src}.{name} LANGUAGE plpgsql SECURITY DEFINER "
        "SET search_path = pg_catalog, pg_temp AS $f$\n"
        "DECLARE k bigint; n bigint;\n"
        f"BEGIN\n    k := nextval({sql.Literal(read_counter(dept)).as_string()}::regclass);\n"
        f"    RETURN QUERY SELECT * FROM {src}.{name};\n"
        "    GET DIAGNOSTICS n = ROW_COUNT;\n"
        "    INSERT INTO access.sql_read (dept_code, n, view, at, row_count) VALUES "
        f"({sql.Literal(dept).as_string()}, k, {sql.Literal(view).as_string()}, clock_timestamp(), n);\n"
        "    RETURN;\nEND\n$f$"
    )


def ensure_counter(conn: psycopg.Connection, dept: str) -> None:
    """Create ``dept``'s read counter if missing (needs the store owner; done by :func:`enable`)."""
    seq = read_counter(dept)
    conn.execute(f"CREATE SEQUENCE IF NOT EXISTS {seq}")
    conn.execute(
        sql.SQL("GRANT USAGE, SELECT ON SEQUENCE {} TO {}").format(sql.SQL(seq), sql.Identifier(views_owner(conn)))
    )


def sync(conn: psycopg.Connection, dept: str) -> list[str]:
    """Regenerate ``dept``'s views from its grants; returns the views created. Audited.

    Each ``dept_<code>.<table>`` selects from a function that returns the rows of the masked,
    grant-checked select in ``dept_<code>_src`` and records the read (view, time, rows) in
    ``access.sql_read``, so every read through a view reaches the audit.
    """
    role = role_name(conn, dept)
    schema = schema_name(dept)
    src = source_schema(dept)
    created: list[str] = []
    with conn.transaction():
        # the DDL runs as the views owner, so the views read shared.* with its rights, not a superuser's
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(views_owner(conn))))
        for name in (schema, src):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(name)))
        for t in tables().values():
            ddl = view_sql(src, t.name, t.qualified_name, field_access(conn, dept, t, active_only=False))
            if ddl is None:
                continue
            view = f"{schema}.{t.name}"
            conn.execute(ddl)
            conn.execute(_audited_read(src, t.name, dept, view))
            conn.execute(f"REVOKE ALL ON FUNCTION {src}.read_{t.name}() FROM PUBLIC")
            conn.execute(
                sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                    sql.SQL(f"{src}.read_{t.name}()"), sql.Identifier(role)
                )
            )
            conn.execute(f"CREATE VIEW {view} AS SELECT * FROM {src}.read_{t.name}()")
            created.append(view)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(role)))
        conn.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                sql.Identifier(schema), sql.Identifier(role)
            )
        )
        conn.execute("RESET ROLE")
        conn.execute("UPDATE access.sql_access SET synced_at = now() WHERE dept_code = %s", (dept,))
        append(conn, AuditEvent(dept, "sql.sync", "allowed", detail="views: " + ", ".join(created)))
    return created
