"""``python -m devkit demo`` as readable tables.

``python -m devkit demo --json`` prints :class:`devkit.demo.DemoReport` as JSON instead.
"""

from __future__ import annotations

import json
from typing import Any

from devkit.demo import DemoReport
from hub.settings import hub_home
from quality.gx_suites import docs_dir

DUPLICATE_WHY = (
    "duplicate: the platform had stored these already; its answer came after the client's read timeout "
    "(a busy machine), so the batch was resent with the same id and the platform kept one copy (nothing doubled)"
)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render(report: DemoReport) -> None:
    """Print the demo report as readable tables."""
    from rich.console import Console

    console = Console(width=None if Console().is_terminal else 132)
    store = report.store
    console.print(
        f"[bold]ShareHub demo[/bold]: a city of {report.scale:,} persons (seed {report.seed}), "
        "ingested by the real DAGs with dag.test() into the hub's store: "
        f"database {store.get('database')} on the embedded PostgreSQL under {store.get('home')} "
        "(reset at the start of every demo)."
    )
    for part in (_runs, _rules, _efficiency, _push, _findings, _access):
        part(console, report)
    console.print(f"Airflow and task logs: {report.log}")
    console.print(f"Data Docs (a GX suite per standard table, quality report): {docs_dir(hub_home()) / 'index.html'}")
    console.print(
        "Look around: hub status, hub ledger, hub quality report, hub efficiency report, "
        'psql "$(hub store url)"; stop the embedded server with hub store stop.'
    )


def _table(title: str, columns: list[str], left: tuple[str, ...] = ()) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="left" if col in left else "right")
    return table


def _runs(console: Any, report: DemoReport) -> None:
    runs = _table(
        "Ingest runs (ledger)",
        ["source", "run", "extracted", "inserted", "updated", "unchanged", "quarantined", "balanced"],
        left=("source", "run"),
    )
    for r in report.runs:
        runs.add_row(
            r["source"],
            r["run_id"],
            *(f"{r[k]:,}" for k in ("extracted", "inserted", "updated", "unchanged", "quarantined")),
            "yes" if r["balanced"] else "NO",
        )
    console.print(runs)
    for source, change in report.changes.items():
        console.print(f"Day of changes at {source}: " + ", ".join(f"{k} {v}" for k, v in change.items() if k != "day"))


def _rules(console: Any, report: DemoReport) -> None:
    rules = _table("Quarantined by rule (all runs)", ["source", "rule", "rows"], left=("source", "rule"))
    totals: dict[tuple[str, str], int] = {}
    for r in report.runs:
        for rule, n in r["rules"].items():
            totals[(r["source"], rule)] = totals.get((r["source"], rule), 0) + n
    for (source, rule), n in sorted(totals.items()):
        rules.add_row(source, rule, f"{n:,}")
    console.print(rules)


def _efficiency(console: Any, report: DemoReport) -> None:
    eff = report.efficiency
    if not eff:
        return
    cols = ["department", "收件", "办结", "按时率", "超期", "网办率", "评价", "满意率", "差评超期"]
    table = _table(f"效能监管 {eff['date']} (the efficiency DAG, run {eff['run_id']})", cols, left=("department",))
    for row in [*eff["departments"], {**eff["city"], "dept_name": "全市 city"}]:
        table.add_row(
            row["dept_name"],
            f"{row['received']:,}",
            f"{row['completed']:,}",
            _pct(row["on_time_rate"]),
            f"{row['overdue_open']:,}",
            _pct(row["online_rate"]),
            f"{row['evaluations']:,}",
            _pct(row["satisfaction_rate"]),
            f"{row['bad_reviews_overdue']:,}",
        )
    console.print(table)
    br = eff["bad_reviews"]
    console.print(
        f"差评 (bad reviews): {br['total']} in all, {br['open']} not followed up, {br['open_overdue']} past due"
    )


def _push(console: Any, report: DemoReport) -> None:
    push = _table(
        "Provincial platform: push and reconciliation",
        ["kind", "sent", "accepted", "duplicate", "rejected", "pending", "reconciliation"],
        left=("kind", "reconciliation"),
    )
    for kind, counts in report.push.items():
        recon = report.reconciliation.get(kind)
        push.add_row(
            kind,
            *(f"{counts.get(k, 0):,}" for k in ("sent", "accepted", "duplicate", "rejected", "pending")),
            recon if isinstance(recon, str) else json.dumps(recon, ensure_ascii=False),
        )
    console.print(push)
    if any(counts.get("duplicate") for counts in report.push.values()):
        console.print(DUPLICATE_WHY)


def _findings(console: Any, report: DemoReport) -> None:
    found = report.findings
    if not found:
        return
    table = _table(f"Open cross-department findings ({found['open']:,})", ["table", "rule", "open"], ("table", "rule"))
    for r in found["by_rule"]:
        table.add_row(r["source"], r["rule"], f"{r['open']:,}")
    console.print(table)


def _access(console: Any, report: DemoReport) -> None:
    acc = report.access
    if not acc:
        return
    dept, resource, read = acc["department"], acc["resource"], acc["read"]
    console.print(
        f"[bold]A department's read[/bold]: {dept['code']} {dept['name']} registered with an API key, then "
        f"POST /v1/resources/{resource['code']}/query ({resource['title']}, purpose {acc['purpose']}): "
        f"{len(read['rows'])} rows, masked: {', '.join(read['masked']) or 'none'}"
    )
    table = _table("", read["fields"], left=tuple(read["fields"]))
    for row in read["rows"]:
        table.add_row(*(str(row[f]) for f in read["fields"]))
    console.print(table)
    refused = acc["refused"]
    console.print(f"  {refused['field']} (有条件共享) without a grant: HTTP {refused['status']}, {refused['reason']}")
    for v in acc["verify_person"]:
        console.print(f"  POST /v1/verify/person for a {v['person_status']} person: match = {v['match']}")
    audit = acc.get("audit")
    if audit:
        state = "chain intact" if audit["ok"] else "CHAIN BROKEN: " + "; ".join(audit["problems"])
        console.print(f"hub audit verify: {audit['entries']} entries, {state}")
