"""Query budgets per department and resource (``access.query_budget``, ``access.query_usage``).

Two kinds are counted: ``verify`` (one per verification call) and ``masked_filter`` (one per value
a query filters a masked field on, so an ``in`` list of 500 identity numbers counts 500). Each has
a per-minute and a per-day limit; the most specific row wins (department and resource, then
department, then resource, then ``*``/``*``); with no row at all nothing is limited. A call that
would pass a limit is not counted and raises :class:`OverBudget` (HTTP 429); the caller audits it.
Days are counted in China Standard Time. One statement checks and counts, so concurrent calls
cannot both pass the last unit of a budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

KINDS = ("verify", "masked_filter")

_CONSUME = """
WITH b AS (
    SELECT per_minute, per_day FROM access.query_budget
    WHERE kind = %(kind)s AND dept_code IN (%(dept)s, '*') AND resource IN (%(resource)s, '*')
    ORDER BY dept_code = '*', resource = '*' LIMIT 1
), lim AS (
    SELECT coalesce(b.per_minute, 2147483647) AS per_minute, coalesce(b.per_day, 2147483647) AS per_day
    FROM (SELECT 1) AS one LEFT JOIN b ON true
)
INSERT INTO access.query_usage AS u (dept_code, resource, kind, day, day_n, minute, minute_n)
SELECT %(dept)s, %(resource)s, %(kind)s, (now() AT TIME ZONE 'Asia/Shanghai')::date, %(n)s,
       date_trunc('minute', now()), %(n)s
FROM lim WHERE %(n)s <= lim.per_minute AND %(n)s <= lim.per_day
ON CONFLICT (dept_code, resource, kind, day) DO UPDATE SET
    minute_n = CASE WHEN u.minute = excluded.minute THEN u.minute_n + excluded.minute_n ELSE excluded.minute_n END,
    minute = excluded.minute,
    day_n = u.day_n + excluded.day_n
WHERE u.day_n + excluded.day_n <= (SELECT per_day FROM lim)
  AND (u.minute <> excluded.minute OR u.minute_n + excluded.minute_n <= (SELECT per_minute FROM lim))
RETURNING day_n
"""


class OverBudget(Exception):
    """A call beyond a department's budget; the message names the budget, never a value."""


@dataclass(frozen=True)
class Budget:
    """The limits that apply to one department, resource and kind."""

    per_minute: int | None
    per_day: int | None


def limits(conn: psycopg.Connection, dept: str, resource: str, kind: str) -> Budget:
    """The budget that applies (``None`` limits when no row matches)."""
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
    row = conn.execute(_CONSUME, {"dept": dept, "resource": resource, "kind": kind, "n": n}).fetchone()
    if row is not None:
        return
    b = limits(conn, dept, resource, kind)
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
