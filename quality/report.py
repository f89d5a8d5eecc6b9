"""The quality report: per run and per day, counts by source, rule and field, and the trend.

Built from what the load already records (``hub.ledger`` and ``quarantine.record``) plus the
cross-department findings, so it costs a few aggregate queries and never re-reads data.
Shown by ``hub quality report [--json | --html]`` and drawn beside the Data Docs by
:mod:`quality.report_html`.
"""

from __future__ import annotations

from typing import Any

from connectors.connections import connect
from quality import report_series as series
from quality.findings import summary


def build(uri: str, *, runs: int = 20, days: int = 14) -> dict[str, Any]:
    """Assemble the report.

    Args:
        uri: The shared store.
        runs: How many recent runs to list (and to draw the trend from).
        days: How many recent days to aggregate.

    Returns:
        A JSON-ready dict: ``runs`` (each with its quarantine by rule and field and, once its
        ``quality_check`` ran, ``gx``: the batch's GX outcome from ``quality.batch_validation``), ``daily``,
        ``daily_by_rule``, ``by_rule`` (all time), ``trend`` and ``findings``; and the series the
        HTML page draws (:mod:`quality.report_series`): ``rule_rates``, ``top_rules``,
        ``findings_trend`` and ``gates``.
    """
    from psycopg.rows import dict_row

    with connect(uri, row_factory=dict_row) as conn:
        recent = conn.execute(
            "SELECT l.batch_id, l.source, l.status, l.started_at, l.extracted, l.quarantined, l.rule_counts, "
            "l.error FROM hub.ledger l ORDER BY l.started_at DESC LIMIT %s",
            (runs,),
        ).fetchall()
        daily = conn.execute(
            "SELECT (started_at AT TIME ZONE 'Asia/Shanghai')::date AS day, source, count(*) AS runs, "
            "count(*) FILTER (WHERE status = 'failed') AS failed, sum(extracted) AS extracted, "
            "sum(quarantined) AS quarantined FROM hub.ledger "
            "WHERE started_at > now() - make_interval(days => %s) GROUP BY 1, 2 ORDER BY 1 DESC, 2",
            (days,),
        ).fetchall()
        by_rule = conn.execute(
            "SELECT source, rule, coalesce(field, '') AS field, count(*) AS total, "
            "count(*) FILTER (WHERE status = 'pending') AS pending, "
            "count(*) FILTER (WHERE status = 'released') AS released, "
            "count(*) FILTER (WHERE status = 'superseded') AS superseded "
            "FROM quarantine.record GROUP BY 1, 2, 3 ORDER BY 1, total DESC, 2"
        ).fetchall()
        by_batch = conn.execute(
            "SELECT batch_id, rule, coalesce(field, '') AS field, count(*) AS n FROM quarantine.record "
            "WHERE batch_id = ANY(%s) GROUP BY 1, 2, 3 ORDER BY 1, n DESC",
            ([r["batch_id"] for r in recent],),
        ).fetchall()
        daily_rules = conn.execute(
            "SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day, source, rule, "
            "coalesce(field, '') AS field, count(*) AS n FROM quarantine.record "
            "WHERE created_at > now() - make_interval(days => %s) GROUP BY 1, 2, 3, 4 ORDER BY 1 DESC, 2, n DESC",
            (days,),
        ).fetchall()
        checked = conn.execute(
            "SELECT batch_id, table_name, rows, success, failed FROM quality.batch_validation WHERE batch_id = ANY(%s)",
            ([r["batch_id"] for r in recent],),
        ).fetchall()
        charts = {
            "rule_rates": series.rule_rates(conn, days),
            "top_rules": series.top_rules(conn),
            "findings_trend": series.findings_trend(conn, days),
            "gates": series.gates_fired(conn, days),
        }
    gx = {c["batch_id"]: {k: c[k] for k in ("table_name", "rows", "success", "failed")} for c in checked}
    fields: dict[str, list[dict[str, Any]]] = {}
    for b in by_batch:
        fields.setdefault(b["batch_id"], []).append({"rule": b["rule"], "field": b["field"], "count": b["n"]})
    run_rows = [
        {
            "batch_id": r["batch_id"],
            "source": r["source"],
            "status": r["status"],
            "started_at": r["started_at"].isoformat(),
            "extracted": r["extracted"],
            "quarantined": r["quarantined"],
            "quarantine_rate": _rate(r["quarantined"], r["extracted"]),
            "rules": r["rule_counts"],
            "quarantine_by_field": fields.get(r["batch_id"], []),
            "gx": gx.get(r["batch_id"]),
            "error": r["error"],
        }
        for r in recent
    ]
    trend: dict[str, list[dict[str, Any]]] = {}
    for r in reversed(run_rows):
        if r["status"] == "succeeded":
            trend.setdefault(r["source"], []).append(
                {"batch_id": r["batch_id"], "quarantine_rate": r["quarantine_rate"]}
            )
    return {
        "runs": run_rows,
        "daily": [
            {
                **d,
                "day": d["day"].isoformat(),
                "extracted": int(d["extracted"]),
                "quarantined": int(d["quarantined"]),
                "quarantine_rate": _rate(int(d["quarantined"]), int(d["extracted"])),
            }
            for d in daily
        ],
        "daily_by_rule": [{**d, "day": d["day"].isoformat()} for d in daily_rules],
        "by_rule": [dict(r) for r in by_rule],
        "trend": trend,
        "findings": summary(uri),
        **charts,
    }


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def render_text(report: dict[str, Any]) -> str:
    """The report as plain text for the terminal."""
    lines = ["Recent runs (newest first):"]
    for r in report["runs"]:
        gx = r.get("gx")
        checked = "" if gx is None else f" gx={'ok' if gx['success'] else 'FAILED ' + ', '.join(gx['failed'])}"
        lines.append(
            f"  {r['started_at'][:19]} {r['batch_id']} {r['status']} extracted={r['extracted']} "
            f"quarantined={r['quarantined']} ({r['quarantine_rate']:.2%}){checked}"
        )
    lines.append("Per day:")
    for d in report["daily"]:
        lines.append(
            f"  {d['day']} {d['source']} runs={d['runs']} failed={d['failed']} extracted={d['extracted']} "
            f"quarantined={d['quarantined']} ({d['quarantine_rate']:.2%})"
        )
    lines.append("Quarantined per day by source, rule and field:")
    for d in report["daily_by_rule"]:
        lines.append(f"  {d['day']} {d['source']} {d['rule']} [{d['field']}] {d['n']}")
    lines.append("Quarantine by source, rule and field (all time):")
    for q in report["by_rule"]:
        lines.append(
            f"  {q['source']} {q['rule']} [{q['field']}] total={q['total']} pending={q['pending']} "
            f"released={q['released']} superseded={q['superseded']}"
        )
    lines.append("Trend (quarantine rate, oldest to newest):")
    for source, points in report["trend"].items():
        lines.append(f"  {source}: " + " → ".join(f"{p['quarantine_rate']:.2%}" for p in points))
    lines.append("Top rules (rows quarantined, all time) with examples of the reason:")
    for r in report.get("top_rules", []):
        lines.append(f"  {r['rule']} total={r['total']:,} pending={r['pending']:,} ({', '.join(r['sources'])})")
        lines.extend(f"    e.g. {e['reason']} ({e['count']:,})" for e in r["examples"])
    lines.append("Batch gates fired (newest first):")
    for g in report.get("gates", []):
        lines.append(f"  {g['started_at'][:19]} {g['batch_id']}: {g['gate']}")
    lines.append("Cross-department findings (open / resolved):")
    for f in report["findings"]:
        lines.append(f"  {f['source']} {f['rule']} open={f['open']} resolved={f['resolved']}")
    return "\n".join(lines)
