"""Query budgets per department and resource (``access.query_budget``, ``access.query_usage``).

Two kinds are counted: ``verify`` (one per verification call) and ``masked_filter`` (one per value
a query filters a masked field on, so an ``in`` list of 500 identity numbers counts 500). Each has
a per-minute and a per-day limit; the most specific row wins (department and resource, then
department, then resource, then ``*``/``*``); with no row at all nothing is limited. A call that
would pass a limit is not counted and raises :class:`OverBudget` (HTTP 429); the caller audits it.
Days are counted in China Standard Time. One statement checks and counts, so concurrent calls
cannot both pass the last unit of a budget. The limits themselves are cached per process for
``CACHE_SECONDS`` (a changed budget applies within that time; at once in the process that set it).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psycopg

KINDS = ("verify", "masked_filter")

CACHE_SECONDS = 10.0
_UNLIMITED = 2_147_483_647

# the first call of a day inserts (if n fits the limits); later ones update only while within both
_CONSUME = """
INSERT INTO access.query_usage AS u (dept_code, resource, kind, day, day_n, minute, minute_n)
SELECT %(dept)s, %(resource)s, %(kind)s, (now() AT TIME ZONE 'Asia/Shanghai')::date, %(n)s,
       date_trunc('minute', now()), %(n)s
WHERE %(n)s <= %(per_minute)s AND %(n)s <= %(per_day)s
ON CONFLICT (dept_code, resource, kind, day) DO UPDATE SET
    minute_n = CASE WHEN u.minute = excluded.minute THEN u.minute_n + excluded.minute_n ELSE excluded.minute_n END,
    minute = excluded.minute,
    day_n = u.day_n + excluded.day_n
WHERE u.day_n + excluded.day_n <= %(per_day)s
  AND (u.minute <> excluded.minute OR u.minute_n + excluded.minute_n <= %(per_minute)s)
RETURNING day_n
"""
_cache: dict[tuple[str, str, str], tuple[float, Budget]] = {}
_cache_lock = threading.Lock()


class OverBudget(Exception):
    """A call beyond a department's budget; the message names the budget, never a value."""


@dataclass(frozen=True)
class Budget:
    """The limits that apply to one department, resource and kind."""

    per_minute: int | None
    per_day: int | None


def limits(conn: psycopg.Connection, dept: str, resource: str, kind: str) -> Budget:
    """The budget that applies (``None`` limits when no row matches), read afresh."""
    row = conn.execute(
        "SELECT per_minute, per_day FROM access.query_budget WHERE kind = %s AND dept_code IN (%s, '*') "
        "AND resource IN (%s, '*') ORDER BY dept_code = '*', resource = '*' LIMIT 1",
        (kind, dept, resource),
    ).fetchone()
    return Budget(*row) if row else Budget(None, None)


def consume(conn: psycopg.Connection, dept: str, resource: str, kind: str, n: int = 1) -> None:
    """Count ``n`` units of ``kind`` for ``dept`` on ``resource``, or refuse without counting them.

    Raises:
        OverBudget: the per-minute or per-day limit would be passed.
    """
    if n <= 0:
        return
    b = _cached_limits(conn, dept, resource, kind)
    per_minute = _UNLIMITED if b.per_minute is None else b.per_minute
    per_day = _UNLIMITED if b.per_day is None else b.per_day
    params = {"dept": dept, "resource": resource, "kind": kind, "n": n, "per_minute": per_minute, "per_day": per_day}
    if conn.execute(_CONSUME, params).fetchone() is not None:
        return
    used = conn.execute(
        "SELECT day_n, CASE WHEN minute = date_trunc('minute', now()) THEN minute_n ELSE 0 END "
        "FROM access.query_usage WHERE dept_code = %s AND resource = %s AND kind = %s "
        "AND day = (now() AT TIME ZONE 'Asia/Shanghai')::date",
        (dept, resource, kind),
    ).fetchone() or (0, 0)
    what = "verification calls" if kind == "verify" else "values filtered on masked fields"
    if b.per_day is not None and used[0] + n > b.per_day:
        window, limit, spent = "day", b.per_day, used[0]
    else:
        window, limit, spent = "minute", b.per_minute, used[1]
    raise OverBudget(
        f"budget exceeded: {dept} may make {limit} {what} on {resource} per {window} "
        f"({spent} used, this request needs {n}); try again later"
    )


def _cached_limits(conn: psycopg.Connection, dept: str, resource: str, kind: str) -> Budget:
    key = (dept, resource, kind)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    b = limits(conn, dept, resource, kind)
    with _cache_lock:
        _cache[key] = (now, b)
    return b


def set_budget(
    conn: psycopg.Connection, kind: str, per_minute: int, per_day: int, dept: str = "*", resource: str = "*"
) -> None:
    """Set the budget of ``kind`` for ``dept`` on ``resource`` (``*`` = any)."""
    if kind not in KINDS:
        raise ValueError(f"unknown budget kind {kind!r} (use {', '.join(KINDS)})")
    conn.execute(
        "INSERT INTO access.query_budget (dept_code, resource, kind, per_minute, per_day) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (dept_code, resource, kind) DO UPDATE SET per_minute = excluded.per_minute, "
        "per_day = excluded.per_day",
        (dept, resource, kind, per_minute, per_day),
    )
    with _cache_lock:
        _cache.clear()
