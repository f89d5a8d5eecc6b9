"""The figures of each console page, read from the store.

Every function takes the store's URI and returns plain values (counts, rates, codes, dates): never a
record's content, so no page can show personal data. Where a report of the hub already computes a
figure (``hub status``, the quality report, the 效能监管 report, the catalogue), its function is
called rather than its SQL copied. Days are Asia/Shanghai days, as in the other reports.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg.rows import dict_row

from hub.access import catalogue
from hub.efficiency.calendar import stored_entries
from hub.efficiency.report import day_report
from hub.ops.status import collect
from hub.push.outbox import outbox_counts
from hub.push.reconcile import open_alerts
from hub.registry import SOURCES
from hub.store.connection import connect
from quality.report import build

DAY = "(({col}) AT TIME ZONE 'Asia/Shanghai')::date"
TODAY = DAY.format(col="now()")
EXAMPLES_PER_RULE = 3


def _connect(uri: str) -> psycopg.Connection:
    return connect(uri, row_factory=dict_row)


def _departments(conn: psycopg.Connection) -> dict[str, str]:
    """Registered department names by code (``access.department``)."""
    return {r["code"]: r["name"] for r in conn.execute("SELECT code, name FROM access.department")}


def sources(uri: str, days: int = 28) -> dict[str, Any]:
    """The Sources page: ``hub status`` per source, its last runs, rows a day, failed runs and alerts.

    Args:
        uri: The shared store.
        days: How many recent days the rows-a-day chart covers.
    """
    status = collect(uri)
    with _connect(uri) as conn:
        runs = conn.execute(
            "SELECT source, batch_id, run_id, status, started_at, finished_at, extracted, inserted, updated, "
            "unchanged, quarantined FROM (SELECT *, row_number() OVER (PARTITION BY source ORDER BY started_at DESC) "
            "AS n FROM hub.ledger) l WHERE n <= 5 ORDER BY source, started_at DESC"
        ).fetchall()
        daily = conn.execute(
            f"SELECT {DAY.format(col='started_at')} AS day, source, sum(extracted)::bigint AS extracted, "
            "sum(inserted + updated)::bigint AS changed FROM hub.ledger "
            "WHERE status = 'succeeded' AND started_at > now() - make_interval(days => %s) GROUP BY 1, 2 ORDER BY 1, 2",
            (days,),
        ).fetchall()
        failed = conn.execute(
            "SELECT source, batch_id, run_id, started_at, error FROM hub.ledger WHERE status = 'failed' "
            "ORDER BY started_at DESC LIMIT 20"
        ).fetchall()
        alerts = conn.execute(
            "SELECT source, kind, run_id, detected_at, age_seconds, allowed_seconds FROM hub.freshness_alert "
            "ORDER BY detected_at DESC LIMIT 20"
        ).fetchall()
    by_source: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_source.setdefault(r["source"], []).append(r)
    dag_ids = {s.name: s.dag_id for s in SOURCES}
    return {
        "sources": [
            {**s, "dag_id": dag_ids[s["source"]], "runs": by_source.get(s["source"], [])} for s in status["sources"]
        ],
        "daily": daily,
        "failed": failed,
        "alerts": alerts,
        "dag_ids": dag_ids,
    }


def quality(uri: str, days: int = 28) -> dict[str, Any]:
    """The Quality page: quarantine rate per source and rule over days, top rules, findings, gates.

    The rule examples are the rule's own messages (``quarantine.record.message``, written without
    personal data), never the quarantined record.
    """
    report = build(uri, runs=50, days=days)
    with _connect(uri) as conn:
        top_rules = conn.execute(
            "SELECT rule, count(*) AS total, count(*) FILTER (WHERE status = 'pending') AS pending, "
            "array_agg(DISTINCT source) AS sources FROM quarantine.record "
            "GROUP BY rule ORDER BY total DESC, rule LIMIT 10"
        ).fetchall()
        examples: dict[str, list[str]] = {}
        for r in conn.execute(
            "SELECT rule, message FROM (SELECT rule, message, row_number() OVER (PARTITION BY rule ORDER BY count(*) "
            "DESC, message) AS n FROM quarantine.record WHERE rule = ANY(%s) GROUP BY rule, message) m WHERE n <= %s",
            ([t["rule"] for t in top_rules], EXAMPLES_PER_RULE),
        ):
            examples.setdefault(r["rule"], []).append(r["message"])
        findings_trend = conn.execute(
            f"SELECT {DAY.format(col='first_seen_at')} AS day, rule, count(*)::bigint AS opened FROM quality.finding "
            "WHERE first_seen_at > now() - make_interval(days => %s) GROUP BY 1, 2 ORDER BY 1, 2",
            (days,),
        ).fetchall()
        gates = conn.execute(
            "SELECT source, batch_id, started_at, extracted, quarantined, error FROM hub.ledger "
            "WHERE status = 'failed' AND error LIKE '%%gate %% failed%%' ORDER BY started_at DESC LIMIT 20"
        ).fetchall()
    return {
        "daily": report["daily"],
        "daily_by_rule": report["daily_by_rule"],
        "top_rules": [{**t, "examples": examples.get(t["rule"], [])} for t in top_rules],
        "findings": report["findings"],
        "findings_trend": findings_trend,
        "gates": gates,
    }


def province(uri: str, days: int = 28) -> dict[str, Any]:
    """The Province page: outbox backlog, answers per day, parked records by code, 对账 per day."""
    with _connect(uri) as conn:
        answers = conn.execute(
            f"SELECT {DAY.format(col='sent_at')} AS day, kind, sum(accepted)::bigint AS accepted, "
            "sum(duplicate)::bigint AS duplicate, sum(rejected)::bigint AS rejected, "
            "count(*) FILTER (WHERE outcome = 'refused') AS refused FROM hub.push_attempt "
            "WHERE sent_at > now() - make_interval(days => %s) GROUP BY 1, 2 ORDER BY 1, 2",
            (days,),
        ).fetchall()
        parked = conn.execute(
            "SELECT kind, code, count(*) AS records, min(updated_at) AS since FROM hub.push_outbox "
            "WHERE status = 'parked' GROUP BY kind, code ORDER BY records DESC, kind, code"
        ).fetchall()
        reconciliation = conn.execute(
            "SELECT DISTINCT ON (kind, day) kind, day, matched, platform_count, hub_count, requeued, checked_at "
            f"FROM hub.push_reconciliation WHERE day > {TODAY} - %s ORDER BY kind, day DESC, checked_at DESC",
            (days,),
        ).fetchall()
    with connect(uri) as plain:
        alerts = open_alerts(plain)
    return {
        "outbox": outbox_counts(uri),
        "answers": answers,
        "parked": [{**p, "retry": f"hub push retry --kind {p['kind']} --code {p['code']}"} for p in parked],
        "reconciliation": [{**r, "difference": r["platform_count"] - r["hub_count"]} for r in reconciliation],
        "alerts": alerts,
    }


_INDICATORS = (
    "sum(completed_on_time)::bigint AS completed_on_time, sum(completed_with_promise)::bigint AS "
    "completed_with_promise, sum(overdue_open)::bigint AS overdue_open, sum(completed_online)::bigint AS "
    "completed_online, sum(completed)::bigint AS completed, sum(eval_4 + eval_5)::bigint AS satisfied, "
    "sum(evaluations)::bigint AS evaluations, sum(bad_reviews)::bigint AS bad_reviews, "
    "sum(bad_reviews_overdue)::bigint AS bad_reviews_overdue, sum(received)::bigint AS received"
)


def _rate(num: int, den: int) -> float | None:
    return None if not den else num / den


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "on_time_rate": _rate(row["completed_on_time"], row["completed_with_promise"]),
        "online_rate": _rate(row["completed_online"], row["completed"]),
        "satisfaction_rate": _rate(row["satisfied"], row["evaluations"]),
    }


def efficiency(uri: str, weeks: int = 8) -> dict[str, Any]:
    """The 效能监管 page: the last day per department and item, weekly rates per department, 差评, calendar.

    Rates are recomputed from summed counts (as :func:`hub.efficiency.report.day_report` does).
    """
    day = day_report(uri)
    with _connect(uri) as conn:
        items = conn.execute(
            f"SELECT dept_code, max(dept_name) AS dept_name, item_code, max(item_name) AS item_name, {_INDICATORS} "
            "FROM shared.service_efficiency WHERE stat_date = %s GROUP BY dept_code, item_code ORDER BY 1, 3",
            (dt.date.fromisoformat(day["date"]),),
        ).fetchall()
        weekly = conn.execute(
            f"SELECT date_trunc('week', stat_date)::date AS week, dept_code, max(dept_name) AS dept_name, "
            f"{_INDICATORS} FROM shared.service_efficiency "
            "WHERE stat_date > %s::date - make_interval(weeks => %s) GROUP BY 1, 2 ORDER BY 1, 2",
            (dt.date.fromisoformat(day["date"]), weeks),
        ).fetchall()
        followups = conn.execute(
            "SELECT dept_code, max(dept_name) AS dept_name, count(*) AS bad_reviews, "
            "count(*) FILTER (WHERE followed_up_on IS NOT NULL) AS followed_up, "
            "count(*) FILTER (WHERE followed_up_on IS NULL) AS open, "
            "count(*) FILTER (WHERE followup_overdue AND followed_up_on IS NULL) AS open_overdue "
            "FROM shared.service_bad_review GROUP BY dept_code ORDER BY dept_code"
        ).fetchall()
    year = dt.date.fromisoformat(day["date"]).year
    with connect(uri) as plain:
        calendar = stored_entries(plain, year)
    return {
        "date": day["date"],
        "as_of": day["as_of"],
        "city": day["city"],
        "departments": day["departments"],
        "service_items": [_with_rates(i) for i in items],
        "weekly": [_with_rates(w) for w in weekly],
        "followups": followups,
        "calendar": calendar,
        "calendar_year": year,
    }


def sharing(uri: str, provider: str | None = None, expiring_days: int = 30) -> dict[str, Any]:
    """The Sharing page: catalogue, applications waiting for a decision, grants expiring, reads per provider.

    Reads come from the access audit as counts per provider, resource, reading department and action;
    the audit's purposes, fields and details are not shown.

    Args:
        uri: The shared store.
        provider: Only this provider department's resources in the reads (all when None).
        expiring_days: Grants expiring within this many days are listed.
    """
    with connect(uri) as plain:
        entries = [e.to_json() for e in catalogue.entries(plain)]
    with _connect(uri) as conn:
        names = _departments(conn)
        pending = conn.execute(
            "SELECT id, dept_code, resource, provider, cardinality(fields) AS fields, applied_at, due_on, "
            f"due_on < {TODAY} AS overdue FROM access.application WHERE status = 'pending' ORDER BY due_on, id"
        ).fetchall()
        expiring = conn.execute(
            "SELECT id, dept_code, resource, provider, expires_at, "
            "expires_at < now() + make_interval(days => 7) AS soon "
            "FROM access.application WHERE status = 'approved' AND expires_at IS NOT NULL AND expires_at > now() "
            "AND expires_at < now() + make_interval(days => %s) ORDER BY expires_at",
            (expiring_days,),
        ).fetchall()
        reads = conn.execute(
            "SELECT resource, dept_code, action, count(*) FILTER (WHERE outcome = 'allowed') AS allowed, "
            "count(*) FILTER (WHERE outcome = 'refused') AS refused, sum(row_count)::bigint AS rows, "
            "max(at) AS last_at FROM access.audit WHERE resource IS NOT NULL AND dept_code IS NOT NULL "
            "AND action NOT LIKE 'grant.%%' AND action NOT LIKE 'department.%%' AND action NOT LIKE 'sql.%%' "
            "GROUP BY resource, dept_code, action ORDER BY resource, dept_code, action"
        ).fetchall()
    by_table = {e["table"]: e for e in entries}
    providers = sorted({e["provider"] for e in entries})
    read_rows = []
    for r in reads:
        entry = by_table.get(r["resource"])
        owner = entry["provider"] if entry else None
        if provider is not None and owner != provider:
            continue
        read_rows.append({**r, "provider": owner, "resource_name": entry["name"] if entry else r["resource"]})
    for row in (*pending, *expiring):
        row["dept_name"] = names.get(row["dept_code"], "")
    for row in read_rows:
        row["dept_name"] = names.get(row["dept_code"], "")
    return {
        "catalogue": entries,
        "pending": pending,
        "expiring": expiring,
        "expiring_days": expiring_days,
        "reads": read_rows,
        "providers": providers,
        "provider": provider,
    }
