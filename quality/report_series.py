"""The series the quality report draws.

Quarantine rate per source and rule per day, the top rules with examples of their reason, open
findings per kind per day, and the batch gates that fired.

Each is one aggregate query over what the load and the checks already record (``hub.ledger``,
``quarantine.record``, ``quality.finding``). Days are calendar days in Asia/Shanghai, as in
:mod:`quality.report`. Nothing here reads a record's values: reasons come from
``quarantine.record.message``, which rules write without any value in it (see
:class:`quality.rules.Failure`), and :func:`scrub` masks anything that looks like an identifier anyway.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg.rows import tuple_row

_DAY = "(({col}) AT TIME ZONE 'Asia/Shanghai')::date"
_IDENTIFIER = re.compile(r"[0-9A-Za-z]*\d[0-9A-Za-z]{5,}|\d{6,}")
"""A token of six or more letters and digits with a digit in it (an identity number, a phone, a code)."""


def _rows(conn: psycopg.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows as tuples, whatever row factory ``conn`` has."""
    return conn.cursor(row_factory=tuple_row).execute(sql, params).fetchall()  # type: ignore[arg-type]


def scrub(message: str) -> str:
    """``message`` with identifier-like tokens masked (a safeguard: reasons are written value-free)."""
    return _IDENTIFIER.sub("…", message)


def rule_rates(conn: psycopg.Connection, days: int) -> list[dict[str, Any]]:
    """Per day, source and rule: rows quarantined by the rule over rows extracted by the source that day.

    From the ledger of succeeded runs (``rule_counts`` counts each quarantined row under its first rule),
    so the rates of a source's rules add up to its quarantine rate for the day.
    """
    rows = _rows(
        conn,
        f"WITH runs AS (SELECT {_DAY.format(col='started_at')} AS day, source, extracted, rule_counts "
        "FROM hub.ledger WHERE status = 'succeeded' AND started_at > now() - make_interval(days => %s)), "
        "extracted AS (SELECT day, source, sum(extracted) AS extracted FROM runs GROUP BY 1, 2) "
        "SELECT r.day, r.source, c.key AS rule, sum(c.value::bigint) AS quarantined, e.extracted "
        "FROM runs r CROSS JOIN LATERAL jsonb_each_text(coalesce(r.rule_counts, '{}'::jsonb)) c "
        "JOIN extracted e USING (day, source) GROUP BY 1, 2, 3, 5 ORDER BY 1, 2, 3",
        (days,),
    )
    return [
        {
            "day": day.isoformat(),
            "source": source,
            "rule": rule,
            "quarantined": int(n),
            "extracted": int(extracted),
            "rate": round(int(n) / int(extracted), 6) if extracted else 0.0,
        }
        for day, source, rule, n, extracted in rows
    ]


def top_rules(conn: psycopg.Connection, limit: int = 10, examples: int = 3) -> list[dict[str, Any]]:
    """The rules that quarantined most rows (all time), each with its sources and its commonest reasons."""
    rules = _rows(
        conn,
        "SELECT rule, count(*) AS total, count(*) FILTER (WHERE status = 'pending') AS pending, "
        "array_agg(DISTINCT source ORDER BY source) AS sources "
        "FROM quarantine.record GROUP BY rule ORDER BY total DESC, rule LIMIT %s",
        (limit,),
    )
    reasons: dict[str, list[dict[str, Any]]] = {}
    for rule, message, n in _rows(
        conn,
        "SELECT rule, message, count(*) AS n FROM quarantine.record WHERE rule = ANY(%s) "
        "GROUP BY rule, message ORDER BY rule, n DESC, message",
        ([r[0] for r in rules],),
    ):
        shown = reasons.setdefault(rule, [])
        text = scrub(message)
        if len(shown) < examples and all(e["reason"] != text for e in shown):
            shown.append({"reason": text, "count": n})
    return [
        {"rule": rule, "total": total, "pending": pending, "sources": list(sources), "examples": reasons.get(rule, [])}
        for rule, total, pending, sources in rules
    ]


def findings_trend(conn: psycopg.Connection, days: int) -> list[dict[str, Any]]:
    """Open cross-department findings per kind (rule) at the end of each of the last ``days`` days."""
    rows = _rows(
        conn,
        "WITH today AS (SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS d) "
        "SELECT g.day::date, f.rule, count(f.id) FROM today, "
        "generate_series(today.d - (%s - 1), today.d, interval '1 day') AS g(day) "
        f"JOIN quality.finding f ON {_DAY.format(col='f.first_seen_at')} <= g.day::date "
        f"AND (f.resolved_at IS NULL OR {_DAY.format(col='f.resolved_at')} > g.day::date) "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        (days,),
    )
    return [{"day": day.isoformat(), "rule": rule, "open": n} for day, rule, n in rows]


def gates_fired(conn: psycopg.Connection, days: int) -> list[dict[str, Any]]:
    """Runs a batch gate stopped (``GateFailed`` in the ledger), newest first, with what the gate said."""
    rows = _rows(
        conn,
        f"SELECT {_DAY.format(col='started_at')} AS day, source, batch_id, started_at, extracted, quarantined, error "
        "FROM hub.ledger WHERE status = 'failed' AND error LIKE 'GateFailed:%%' "
        "AND started_at > now() - make_interval(days => %s) ORDER BY started_at DESC",
        (days,),
    )
    return [
        {
            "day": day.isoformat(),
            "source": source,
            "batch_id": batch_id,
            "started_at": started.isoformat(),
            "extracted": extracted,
            "quarantined": quarantined,
            "gate": error.removeprefix("GateFailed:").strip(),
        }
        for day, source, batch_id, started, extracted, quarantined, error in rows
    ]
