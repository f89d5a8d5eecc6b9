"""Applications for shared resources, the grants they become, and what a department may read.

* A 无条件共享 resource's 无条件 fields are readable by every registered department, with
  personal fields masked.
* 有条件共享 resources, 有条件 fields and unmasked personal fields need an application
  (purpose, fields, which of them unmasked) that the provider department approves or refuses
  with a reason; an approved application is a grant until it expires or is revoked.
* 不予共享 resources and fields are never exposed; an application for them is refused at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import psycopg

from hub.access import sqlviews
from hub.access.audit import AuditEvent, append
from hub.access.field_access import FieldAccess, field_access, shareable_fields
from hub.access.workdays import due_date
from schemas.model import Sharing, Table


class AccessDenied(Exception):
    """A read outside what the department may read; the message names the rule, never a value."""


def refusal_reason(conn: psycopg.Connection, dept: str, table: Table, name: str) -> str:
    """Why ``dept`` may not read field ``name`` of ``table``: a sentence naming the rule."""
    try:
        f = table.field(name)
    except KeyError:
        return f"{table.code} has no field {name!r}"
    if f not in table.fields:
        return f"{name} is not a field of the resource {table.code}"
    if table.sharing is Sharing.NOT_SHARED or f.sharing is Sharing.NOT_SHARED:
        return f"{table.code}.{name} is 不予共享 (not shared)"
    expired = conn.execute(
        "SELECT id, expires_at FROM access.application WHERE dept_code = %s AND resource = %s AND status = 'approved' "
        "AND %s = ANY(fields) AND expires_at <= now() ORDER BY expires_at DESC LIMIT 1",
        (dept, table.qualified_name, name),
    ).fetchone()
    if expired:
        return f"grant #{expired[0]} for {table.code}.{name} expired at {expired[1]:%Y-%m-%d %H:%M:%S%z}"
    kind = "有条件共享 resource" if table.sharing is Sharing.CONDITIONAL else "有条件共享 field"
    return f"{table.code}.{name} is in a {kind}: department {dept} has no approved grant for it"


def check_fields(conn: psycopg.Connection, dept: str, table: Table, requested: Sequence[str]) -> dict[str, FieldAccess]:
    """The access of each requested field, or :class:`AccessDenied` naming the first refused one."""
    access = field_access(conn, dept, table)
    for name in requested:
        if name not in access or not access[name].readable:
            raise AccessDenied(refusal_reason(conn, dept, table, name))
    return {name: access[name] for name in requested}


def require_fields(conn: psycopg.Connection, dept: str, table: Table, requested: Sequence[str]) -> None:
    """:func:`check_fields` for a read that needs no masking decision (a verification).

    When every requested field is readable without a grant, grants cannot change the answer, so
    the store is not asked (one round trip less per verification call).

    Raises:
        AccessDenied: naming the first refused field.
    """
    shareable = {f.name: f for f in shareable_fields(table)}
    if all(n in shareable and table.readable_without_grant(shareable[n]) for n in requested):
        return
    check_fields(conn, dept, table, requested)


def readable_fields(conn: psycopg.Connection, dept: str, table: Table) -> list[str]:
    """Names of the fields ``dept`` may read now, in declaration order."""
    return [n for n, a in field_access(conn, dept, table).items() if a.readable]


def apply(
    conn: psycopg.Connection,
    dept: str,
    table: Table,
    fields: Sequence[str],
    purpose: str,
    unmasked: Sequence[str] = (),
) -> int:
    """File an application; returns its id. Due for decision in 10 working days.

    Raises:
        AccessDenied: a field is unknown or 不予共享, or ``unmasked`` is not within ``fields``.
    """
    shareable = {f.name for f in shareable_fields(table)}
    for name in fields:
        if name not in shareable:
            raise AccessDenied(refusal_reason(conn, dept, table, name) + ": cannot be applied for")
    if not set(unmasked) <= set(fields):
        raise AccessDenied("unmasked fields must be among the requested fields")
    if not purpose.strip():
        raise AccessDenied("an application must state its purpose")
    with conn.transaction():
        due = due_date(conn, dt.date.today())
        app_id = conn.execute(
            "INSERT INTO access.application (dept_code, resource, provider, fields, unmasked, purpose, due_on) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (dept, table.qualified_name, table.provider, list(fields), list(unmasked), purpose, due),
        ).fetchone()[0]
        append(
            conn,
            AuditEvent(
                dept, "grant.apply", "allowed", table.qualified_name, fields, purpose=purpose, detail=f"#{app_id}"
            ),
        )
    return app_id


def _pending(conn: psycopg.Connection, app_id: int, by: str) -> tuple[str, str, list[str], str]:
    row = conn.execute(
        "SELECT dept_code, resource, fields, status, provider, purpose FROM access.application "
        "WHERE id = %s FOR UPDATE",
        (app_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no application #{app_id}")
    dept, resource, fields, status, provider, purpose = row
    if provider != by:
        raise AccessDenied(f"application #{app_id} is for {provider}'s resource; {by} cannot decide it")
    if dept == by:
        raise AccessDenied(f"application #{app_id} is {by}'s own: no department decides its own application")
    if status != "pending":
        raise AccessDenied(f"application #{app_id} is already {status}")
    return dept, resource, fields, purpose


def approve(
    conn: psycopg.Connection,
    app_id: int,
    by: str,
    expires_at: dt.datetime | None = None,
    officer: str | None = None,
) -> None:
    """The provider ``by`` approves application ``app_id`` (optionally until ``expires_at``).

    Args:
        conn: The store.
        app_id: The application.
        by: The deciding (providing) department.
        expires_at: End of the grant, if any.
        officer: The deciding officer's id, recorded in the audit.
    """
    with conn.transaction():
        dept, resource, fields, purpose = _pending(conn, app_id, by)
        conn.execute(
            "UPDATE access.application SET status = 'approved', decided_by = %s, decided_at = now(), expires_at = %s "
            "WHERE id = %s",
            (by, expires_at, app_id),
        )
        detail = f"#{app_id} approved" + (f" until {expires_at.isoformat()}" if expires_at else "")
        detail += f" by officer {officer}" if officer else ""
        append(conn, AuditEvent(by, "grant.approve", "allowed", resource, fields, purpose=purpose, detail=detail))
        _resync_sql(conn, dept)


def refuse(conn: psycopg.Connection, app_id: int, by: str, reason: str, officer: str | None = None) -> None:
    """The provider ``by`` refuses application ``app_id`` with ``reason`` (required); ``officer`` as in approve."""
    if not reason.strip():
        raise AccessDenied("a refusal must give its reason")
    with conn.transaction():
        _, resource, fields, purpose = _pending(conn, app_id, by)
        conn.execute(
            "UPDATE access.application SET status = 'refused', reason = %s, decided_by = %s, decided_at = now() "
            "WHERE id = %s",
            (reason, by, app_id),
        )
        append(
            conn,
            AuditEvent(
                by,
                "grant.refuse",
                "allowed",
                resource,
                fields,
                purpose=purpose,
                detail=f"#{app_id}: {reason}" + (f" (officer {officer})" if officer else ""),
            ),
        )


def revoke(conn: psycopg.Connection, app_id: int, by: str, reason: str) -> None:
    """The provider ``by`` revokes an approved grant."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE access.application SET status = 'revoked', reason = %s WHERE id = %s AND provider = %s "
            "AND status = 'approved' RETURNING dept_code, resource, fields",
            (reason, app_id, by),
        ).fetchone()
        if row is None:
            raise AccessDenied(f"no approved grant #{app_id} of {by} to revoke")
        append(conn, AuditEvent(by, "grant.revoke", "allowed", row[1], row[2], detail=f"#{app_id}: {reason}"))
        _resync_sql(conn, row[0])


def _resync_sql(conn: psycopg.Connection, dept: str) -> None:
    if conn.execute("SELECT 1 FROM access.sql_access WHERE dept_code = %s", (dept,)).fetchone():
        sqlviews.sync(conn, dept)
