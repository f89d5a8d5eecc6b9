"""Reads on behalf of a department: paged queries, verification (核验) and prefill profiles.

Every SQL text here is built only from declared names (table, field, type) that were looked up
in the declaration; request values are always bound parameters. Each function checks the
department's access first and raises :class:`AccessDenied` naming the rule; the caller audits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from hub.access import cursor_token
from hub.access.catalogue import tables
from hub.access.field_access import FieldAccess, field_access
from hub.access.grants import AccessDenied, check_fields, refusal_reason, require_fields
from hub.access.masking import mask_sql
from hub.store import page_order
from schemas.model import Table

OPS = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
MASKED_FIELD_OPS = {"eq", "in"}
MAX_LIMIT = 1000


class BadRequest(ValueError):
    """A request that is malformed (unknown operator, bad value, bad cursor)."""


@dataclass(frozen=True)
class Filter:
    """``field op value``; ``in`` takes a list, ``is_null`` a boolean."""

    field: str
    op: str
    value: object = None


@dataclass
class Page:
    """One page of a query."""

    fields: list[str]
    rows: list[dict]
    next_cursor: str | None
    masked: list[str] = field(default_factory=list)


def select_expr(name: str, a: FieldAccess) -> str:
    """The select-list expression of a granted field (masked unless granted unmasked)."""
    return name if a.unmasked else f"{mask_sql(a.personal, name)} AS {name}"


def _where(table: Table, access: dict[str, FieldAccess], filters: Sequence[Filter]) -> tuple[list[str], list]:
    clauses: list[str] = []
    params: list = []
    for f in filters:
        a = access[f.field]
        sql_type = table.field(f.field).sql_type
        if f.op not in OPS and f.op not in ("in", "is_null"):
            raise BadRequest(f"unknown filter operator {f.op!r} (use {', '.join([*OPS, 'in', 'is_null'])})")
        if not a.unmasked and f.op not in MASKED_FIELD_OPS:
            raise AccessDenied(f"{f.field} is masked for you: only eq/in filters are allowed on it")
        if f.op in OPS:
            clauses.append(f"{f.field} {OPS[f.op]} %s::{sql_type}")
            params.append(f.value)
        elif f.op == "in":
            if not isinstance(f.value, list) or not f.value or len(f.value) > 1000:
                raise BadRequest(f"filter {f.field} in: value must be a list of 1..1000 values")
            clauses.append(f"{f.field} = ANY(%s::{sql_type}[])")
            params.append(f.value)
        else:
            clauses.append(f"{f.field} IS {'' if f.value in (True, 'true', None) else 'NOT '}NULL")
    return clauses, params


def query(
    conn: psycopg.Connection,
    dept: str,
    table: Table,
    fields: Sequence[str] | None,
    filters: Sequence[Filter] = (),
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """One page of ``table`` for ``dept``: granted fields only, masked as granted, keyset-paged.

    Pages follow the key when ``dept`` reads every key column in clear; otherwise the order of a
    keyed digest of the key, which tells nothing about the hidden part (a row's position in the
    key's order would: an identity number sorts people by birth date).

    Raises:
        AccessDenied: a requested or filtered field is not granted (or does not exist).
        BadRequest: bad operator, value, limit or cursor.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be 1..{MAX_LIMIT}")
    if fields is not None and not fields:
        raise BadRequest("name at least one field, or omit fields for all granted ones")
    if fields is None:
        fields = [n for n, a in field_access(conn, dept, table).items() if a.readable]
        if not fields:
            raise AccessDenied(f"{table.code} ({table.sharing}): department {dept} has no grant on any field")
    access = check_fields(conn, dept, table, list(dict.fromkeys([*fields, *(f.field for f in filters)])))
    clauses, params = _where(table, access, filters)
    key_in_clear = _key_in_clear(conn, dept, table, access)
    cursor_values = _cursor(after, dept, table)
    if key_in_clear:
        key = table.key
        order_cols = [f"{k} AS _k{i}" for i, k in enumerate(key)]
        if cursor_values is not None:
            if not isinstance(cursor_values, list) or len(cursor_values) != len(key):
                raise BadRequest("cursor was issued for another ordering of this resource: start from the first page")
            casts = ", ".join(f"%s::{table.field(k).sql_type}" for k in key)
            clauses.append(f"({', '.join(key)}) > ({casts})")
            params.extend(cursor_values)
        # ordered by the stored key (the _k columns): a bare name would sort by the masked output column of that name
        order = ", ".join(f"_k{i}" for i in range(len(key)))
    else:
        # the key is masked for this department: its order would tell what the mask hides, so the
        # rows come in the order of a keyed digest of the key (hub.store.page_order), stored and indexed
        digest = page_order.DIGEST_COLUMN
        order_cols = [f"{digest} AS _d"]
        if cursor_values is not None:
            if not isinstance(cursor_values, dict) or not isinstance(cursor_values.get("digest"), str):
                raise BadRequest("cursor was issued for another ordering of this resource: start from the first page")
            try:
                params.append(bytes.fromhex(cursor_values["digest"]))
            except ValueError as err:
                raise BadRequest("malformed cursor") from err
            clauses.append(f"{digest} > %s::bytea")
        order = "_d"
    cols = ", ".join([select_expr(n, access[n]) for n in fields] + order_cols)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    text = f"SELECT {cols} FROM {table.qualified_name}{where} ORDER BY {order} LIMIT {int(limit) + 1}"
    try:
        rows, columns = _fetch(conn, text, params)
    except (psycopg.errors.DataError, psycopg.errors.InvalidTextRepresentation) as err:
        raise BadRequest(f"a filter value does not fit its field's type: {type(err).__name__}") from None
    more = len(rows) > limit
    rows = rows[:limit]
    n = len(fields)
    out = _records(list(fields), columns[:n], rows)
    nxt = None
    if more:
        last = rows[-1][n:]
        values = [_json(v) for v in last] if key_in_clear else {"digest": bytes(last[0]).hex()}
        nxt = cursor_token.encode(values, dept, table.qualified_name)
    return Page(list(fields), out, nxt, [f for f in fields if not access[f].unmasked])


def _fetch(conn: psycopg.Connection, text: str, params: list) -> tuple[list[tuple], list[psycopg.Column]]:
    """Rows and column descriptions; in a caller's transaction under a savepoint, so a bad value does not abort it."""
    if conn.autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        cur = conn.execute(text, params)  # a statement of its own: no BEGIN/COMMIT round trips
        return cur.fetchall(), list(cur.description or [])
    with conn.transaction():
        cur = conn.execute(text, params)
        return cur.fetchall(), list(cur.description or [])


# types psycopg returns as str, int, float or bool: in JSON as they are, no per-value conversion
_PLAIN_TYPES = {psycopg.adapters.types[name].oid for name in ("text", "varchar", "bpchar", "name", "bool")}
_PLAIN_TYPES |= {psycopg.adapters.types[name].oid for name in ("int2", "int4", "int8", "float4", "float8")}


def _records(names: list[str], columns: Sequence[psycopg.Column], rows: list[tuple]) -> list[dict]:
    """Rows as JSON-ready dicts, converting only the columns whose type needs it (a 500-row page is 2,000 values)."""
    convert = [i for i, c in enumerate(columns) if c.type_code not in _PLAIN_TYPES]
    if not convert:  # zip stops at the names: the ordering columns after them are left out
        return [dict(zip(names, r, strict=False)) for r in rows]
    out = []
    for r in rows:
        values = list(r[: len(names)])
        for i in convert:
            values[i] = _json(values[i])
        out.append(dict(zip(names, values, strict=True)))
    return out


def _key_in_clear(conn: psycopg.Connection, dept: str, table: Table, access: dict[str, FieldAccess]) -> bool:
    """Whether ``dept`` reads every key column of ``table`` unmasked (granted, or not personal)."""
    if not page_order.has_personal_key(table):
        return True
    missing = [k for k in table.key if k not in access]
    if missing:
        access = {**access, **field_access(conn, dept, table)}
    return all(k in access and access[k].readable and access[k].unmasked for k in table.key)


def _cursor(after: str | None, dept: str, table: Table) -> list | dict | None:
    if not after:
        return None
    try:
        return cursor_token.decode(after, dept, table.qualified_name)
    except cursor_token.CursorError as err:
        raise BadRequest(str(err)) from err


def _json(v: object) -> object:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if v is not None and not isinstance(v, str | int | float | bool):
        return str(v)
    return v


def _lookup_one(conn: psycopg.Connection, text: str, params: Sequence) -> tuple | None:
    return conn.execute(text, params).fetchone()


def verify_person(conn: psycopg.Connection, dept: str, id_number: str, name: str) -> bool:
    """Whether ``id_number`` + ``name`` match a living (status NORMAL) person in shared.population.

    The fields read are 无条件 on purpose, so the grant check passes for every department: 核验 answers
    whether a pair the caller already holds matches. Its risk is repetition (an oracle on the masked
    fields), which budgets limit, not a field grant. Compare :func:`verify_certificate`, whose
    resource is 有条件.
    """
    table = tables()["shared.population"]
    require_fields(conn, dept, table, ["id_number", "name", "status"])
    row = _lookup_one(
        conn,
        "SELECT status FROM shared.population WHERE id_number = %s AND name = %s",
        (id_number.strip().upper(), name.strip()),
    )
    return row is not None and row[0] == "NORMAL"


def verify_entity(conn: psycopg.Connection, dept: str, uscc: str) -> bool:
    """Whether ``uscc`` is a market entity in status ACTIVE (存续)."""
    table = tables()["shared.market_entity"]
    require_fields(conn, dept, table, ["uscc", "status"])
    row = _lookup_one(conn, "SELECT status FROM shared.market_entity WHERE uscc = %s", (uscc.strip().upper(),))
    return row is not None and row[0] == "ACTIVE"


VALID_CERTIFICATE_STATUSES = ("VALID", "ACTIVE", "有效")


class NotDeclared(LookupError):
    """The resource a verification needs is not declared in this build (HTTP 501)."""


class NotLoaded(LookupError):
    """The resource is declared but its table does not exist in the store (HTTP 404)."""


def certificate_table() -> Table | None:
    """The declared table holding e-certificates (fields ``certificate_id`` and ``status``), if any."""
    for t in tables().values():
        names = set(t.business_columns)
        if {"certificate_id", "status"} <= names:
            return t
    return None


def verify_certificate(conn: psycopg.Connection, dept: str, certificate_id: str, today: dt.date) -> bool:
    """Whether the certificate is valid: a valid status and, when declared, ``valid_to`` not passed.

    Raises:
        NotDeclared: no e-certificate table is declared.
        NotLoaded: it is declared but not in the store.
    """
    table = certificate_table()
    if table is None:
        raise NotDeclared("no e-certificate resource is declared in this build")
    if conn.execute("SELECT to_regclass(%s)", (table.qualified_name,)).fetchone()[0] is None:
        raise NotLoaded(f"{table.qualified_name} does not exist in the store yet")
    has_valid_to = "valid_to" in table.business_columns
    require_fields(conn, dept, table, ["certificate_id", "status", *(["valid_to"] if has_valid_to else [])])
    cols = "status" + (", valid_to" if has_valid_to else "")
    row = _lookup_one(
        conn, f"SELECT {cols} FROM {table.qualified_name} WHERE certificate_id = %s", (certificate_id.strip(),)
    )
    if row is None or row[0] not in VALID_CERTIFICATE_STATUSES:
        return False
    return not has_valid_to or row[1] is None or row[1] >= today


@dataclass
class Profile:
    """A prefill profile: per resource, the granted fields of the applicant's records."""

    sections: dict[str, list[dict]]
    withheld: dict[str, str]
    fields: dict[str, list[str]]


def prefill(conn: psycopg.Connection, dept: str, id_number: str) -> Profile:
    """The applicant's records in every resource keyed by ``id_number``, limited to granted fields."""
    ident = id_number.strip().upper()
    profile = Profile({}, {}, {})
    for t in tables().values():
        if "id_number" not in t.business_columns:
            continue
        access = {n: a for n, a in field_access(conn, dept, t).items() if a.readable}
        if "id_number" not in access:
            profile.withheld[t.code] = refusal_reason(conn, dept, t, "id_number")
            continue
        names = list(access)
        cols = ", ".join(select_expr(n, access[n]) for n in names)
        order = ", ".join(f"{t.qualified_name}.{k}" for k in t.key)  # the stored key, not a masked output column
        rows = conn.execute(
            f"SELECT {cols} FROM {t.qualified_name} WHERE id_number = %s ORDER BY {order}", (ident,)
        ).fetchall()
        profile.sections[t.code] = [{n: _json(v) for n, v in zip(names, r, strict=True)} for r in rows]
        profile.fields[t.code] = names
    return profile
