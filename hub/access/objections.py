"""校核纠错: a consuming department questions a record; the provider confirms or corrects it.

States: ``filed`` → ``in_review`` (the provider took it) → ``confirmed`` (the data stands, with
the provider's answer) or ``corrected`` (the source changed; the ledger batch that loaded the
corrected record is linked). The due date is 10 working days after filing. Both sides see the
same row. Claims and answers are free text for the departments and are not logged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import psycopg
from psycopg.types.json import Jsonb

from hub.access.audit import AuditEvent, append
from hub.access.catalogue import resolve
from hub.access.grants import AccessDenied, readable_fields
from hub.access.workdays import due_date
from schemas.model import Table

OPEN = ("filed", "in_review")


@dataclass(frozen=True)
class Objection:
    """One objection as both departments see it."""

    id: int
    dept_code: str
    provider: str
    resource: str
    record_key: dict
    field: str | None
    claim: str
    status: str
    filed_at: dt.datetime
    due_on: dt.date
    answer: str | None
    answered_by: str | None
    resolved_at: dt.datetime | None
    correcting_batch: str | None

    @property
    def overdue(self) -> bool:
        """Open after its due date."""
        return self.status in OPEN and dt.date.today() > self.due_on

    def to_json(self) -> dict:
        """Plain JSON-able dict."""
        d = asdict(self)
        for k in ("filed_at", "due_on", "resolved_at"):
            d[k] = d[k].isoformat() if d[k] else None
        d["overdue"] = self.overdue
        return d


_COLS = (
    "id, dept_code, provider, resource, record_key, field, claim, status, filed_at, due_on, answer, answered_by, "
    "resolved_at, correcting_batch"
)


def _key_clause(table: Table, record_key: dict) -> tuple[str, list]:
    if set(record_key) != set(table.key):
        raise AccessDenied(f"record key of {table.code} is ({', '.join(table.key)})")
    return " AND ".join(f"{k} = %s::{table.field(k).sql_type}" for k in table.key), [record_key[k] for k in table.key]


def _current(conn: psycopg.Connection, table: Table, record_key: dict) -> tuple[str, str, dt.datetime] | None:
    where, params = _key_clause(table, record_key)
    return conn.execute(
        f"SELECT batch_id, record_hash, loaded_at FROM {table.qualified_name} WHERE {where}", params
    ).fetchone()


def file(conn: psycopg.Connection, dept: str, table: Table, record_key: dict, field: str | None, claim: str) -> int:
    """``dept`` files an objection on one record of ``table``; returns its id.

    Raises:
        AccessDenied: ``dept`` cannot read the resource, the field is not one of it, or no such record.
    """
    if not readable_fields(conn, dept, table):
        raise AccessDenied(f"department {dept} has no access to {table.code}")
    if field is not None and field not in table.business_columns:
        raise AccessDenied(f"{table.code} has no field {field!r}")
    with conn.transaction():
        current = _current(conn, table, record_key)
        if current is None:
            raise AccessDenied(f"no record of {table.code} with that key")
        due = due_date(conn, dt.date.today())
        oid = conn.execute(
            "INSERT INTO access.objection (dept_code, provider, resource, record_key, field, claim, due_on, "
            "batch_at_filing, hash_at_filing) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (dept, table.provider, table.qualified_name, Jsonb(record_key), field, claim, due, current[0], current[1]),
        ).fetchone()[0]
        append(
            conn,
            AuditEvent(
                dept, "objection.file", "allowed", table.qualified_name, [field] if field else [], detail=f"#{oid}"
            ),
        )
    return oid


def get(conn: psycopg.Connection, oid: int) -> Objection:
    """One objection by id."""
    row = conn.execute(f"SELECT {_COLS} FROM access.objection WHERE id = %s", (oid,)).fetchone()
    if row is None:
        raise LookupError(f"no objection #{oid}")
    return Objection(*row)


def listing(conn: psycopg.Connection, *, provider: str | None = None, dept: str | None = None) -> list[Objection]:
    """The provider's queue (open first, by due date) or the filing department's objections."""
    rows = conn.execute(
        f"SELECT {_COLS} FROM access.objection WHERE (%s::text IS NULL OR provider = %s) "
        "AND (%s::text IS NULL OR dept_code = %s) ORDER BY status NOT IN ('filed', 'in_review'), due_on, id",
        (provider, provider, dept, dept),
    ).fetchall()
    return [Objection(*r) for r in rows]


def _take(conn: psycopg.Connection, oid: int, by: str) -> Objection:
    obj = get(conn, oid)
    if obj.provider != by:
        raise AccessDenied(f"objection #{oid} is for {obj.provider}; {by} cannot handle it")
    if obj.status not in OPEN:
        raise AccessDenied(f"objection #{oid} is already {obj.status}")
    return obj


def start_review(conn: psycopg.Connection, oid: int, by: str) -> None:
    """The provider ``by`` takes the objection into review."""
    with conn.transaction():
        obj = _take(conn, oid, by)
        conn.execute("UPDATE access.objection SET status = 'in_review' WHERE id = %s", (oid,))
        append(conn, AuditEvent(by, "objection.review", "allowed", obj.resource, detail=f"#{oid}"))


def correcting_batch(conn: psycopg.Connection, oid: int) -> str | None:
    """The ledger batch that changed the record after the objection was filed, if it has changed."""
    obj = get(conn, oid)
    filed_hash = conn.execute("SELECT hash_at_filing FROM access.objection WHERE id = %s", (oid,)).fetchone()[0]
    current = _current(conn, resolve(obj.resource), obj.record_key)
    if current is not None and current[1] != filed_hash and current[2] > obj.filed_at:
        return current[0]
    return None


def resolve_objection(conn: psycopg.Connection, oid: int, by: str, answer: str, *, corrected: bool) -> Objection:
    """Close the objection with the provider's ``answer``.

    ``corrected=True`` requires that the record changed at the source after filing; the batch that
    loaded the change is linked. ``corrected=False`` confirms the data as it stands.

    Raises:
        AccessDenied: not the provider, already closed, or ``corrected`` but the record has not
            changed in the store since the objection was filed.
    """
    if not answer.strip():
        raise AccessDenied("a resolution must give an answer")
    with conn.transaction():
        obj = _take(conn, oid, by)
        batch = correcting_batch(conn, oid) if corrected else None
        if corrected and batch is None:
            raise AccessDenied(
                f"objection #{oid}: the record has not changed in the store since filing; "
                "load the corrected data from the source first"
            )
        conn.execute(
            "UPDATE access.objection SET status = %s, answer = %s, answered_by = %s, resolved_at = now(), "
            "correcting_batch = %s WHERE id = %s",
            ("corrected" if corrected else "confirmed", answer, by, batch, oid),
        )
        append(
            conn,
            AuditEvent(
                by,
                "objection.resolve",
                "allowed",
                obj.resource,
                detail=f"#{oid} {'corrected by ' + batch if batch else 'confirmed'}",
            ),
        )
    return get(conn, oid)
