"""``hub status``: every source at a glance, as rich tables or one JSON object.

Parts built in parallel (quality findings, the provincial push, reconciliation) keep their
own tables; they are probed by name and reported as ``"n/a"`` when the table is missing, so
the status works on any store version.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import psycopg

from hub.ops import freshness as fresh
from hub.registry import SOURCES

NA = "n/a"
# Candidate tables of parts built in parallel, first existing one wins.
FINDINGS_TABLES = ("quality.finding", "quality.findings", "hub.finding")
PUSH_TABLES = ("push.outbox", "push.queue", "push.delivery", "hub.push_outbox")
RECONCILIATION_TABLES = ("push.reconciliation", "hub.reconciliation")
_DONE_STATES = ("delivered", "acknowledged", "acked", "done", "succeeded", "sent", "confirmed")
_TIME_COLUMNS = ("finished_at", "reconciled_at", "completed_at", "created_at", "started_at")


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send file descriptor 1 to 2 for the block, so that only the report reaches stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _first_table(conn: psycopg.Connection, candidates: tuple[str, ...]) -> str | None:
    for name in candidates:
        if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None:
            return name
    return None


def _columns(conn: psycopg.Connection, qualified: str) -> set[str]:
    schema, _, table = qualified.partition(".")
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    ).fetchall()
    return {r[0] for r in rows}


def _per_source_counts(conn: psycopg.Connection, table: str | None, where: str = "") -> dict[str, int] | None:
    if table is None:
        return None
    if "source" not in _columns(conn, table):
        return None
    sql = f"SELECT source, count(*) FROM {table} {where} GROUP BY source"
    return dict(conn.execute(sql).fetchall())


def _push_backlog(conn: psycopg.Connection) -> dict[str, Any] | str:
    table = _first_table(conn, PUSH_TABLES)
    if table is None:
        return NA
    cols = _columns(conn, table)
    if "status" in cols:
        (n,) = conn.execute(f"SELECT count(*) FROM {table} WHERE status <> ALL(%s)", (list(_DONE_STATES),)).fetchone()
    else:
        (n,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return {"table": table, "pending": n}


def _last_reconciliation(conn: psycopg.Connection) -> dict[str, Any] | str:
    table = _first_table(conn, RECONCILIATION_TABLES)
    if table is None:
        return NA
    cols = _columns(conn, table)
    column = next((c for c in _TIME_COLUMNS if c in cols), None)
    if column is None:
        return {"table": table, "at": None}
    (at,) = conn.execute(f"SELECT max({column}) FROM {table}").fetchone()
    return {"table": table, "at": at.isoformat() if at else None}


def collect(uri: str | None = None) -> dict[str, Any]:
    """Everything ``hub status`` shows, JSON-ready.

    Args:
        uri: The store; the configured one (``hub_store`` or embedded) when omitted.
    """
    if uri is None:
        from hub.store.connection import store_uri

        uri = store_uri()
    freshness = {f.source: f for f in fresh.freshness(uri)}
    with psycopg.connect(uri) as conn:
        last_runs = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT DISTINCT ON (source) source, batch_id, status, finished_at, extracted, inserted, updated, "
                "unchanged, quarantined FROM hub.ledger ORDER BY source, started_at DESC"
            ).fetchall()
        }
        totals = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT source, count(*), count(*) FILTER (WHERE status = 'failed'), coalesce(sum(extracted), 0) "
                "FROM hub.ledger GROUP BY source"
            ).fetchall()
        }
        quarantine = dict(
            conn.execute("SELECT source, count(*) FROM quarantine.record WHERE status = 'pending' GROUP BY source")
        )
        findings = _per_source_counts(conn, _first_table(conn, FINDINGS_TABLES))
        alerts = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT DISTINCT ON (source) source, kind, detected_at FROM hub.freshness_alert "
                "ORDER BY source, detected_at DESC"
            ).fetchall()
        }
        push = _push_backlog(conn)
        reconciliation = _last_reconciliation(conn)
    sources = []
    for spec in SOURCES:
        run = last_runs.get(spec.name)
        batches, failed, extracted = totals.get(spec.name, (0, 0, 0))
        alert = alerts.get(spec.name)
        sources.append(
            {
                "source": spec.name,
                "department": spec.department,
                "table": spec.table,
                "last_run": None
                if run is None
                else {
                    "batch_id": run[0],
                    "status": run[1],
                    "finished_at": run[2].isoformat(),
                    **dict(zip(("extracted", "inserted", "updated", "unchanged", "quarantined"), run[3:], strict=True)),
                },
                "ledger": {"batches": batches, "failed": failed, "extracted": int(extracted)},
                "freshness": freshness[spec.name].to_json(),
                "quarantine_pending": quarantine.get(spec.name, 0),
                "findings": NA if findings is None else findings.get(spec.name, 0),
                "last_alert": None if alert is None else {"kind": alert[0], "at": alert[1].isoformat()},
            }
        )
    return {"sources": sources, "push_backlog": push, "last_reconciliation": reconciliation}


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render(report: dict[str, Any]) -> None:
    """Print ``report`` as rich tables."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="ShareHub sources")
    for col in ("source", "last run", "extracted/ins/upd/unch/quar", "batches (failed)", "freshness", "quarantine"):
        table.add_column(col)
    table.add_column("findings")
    for s in report["sources"]:
        run = s["last_run"]
        f = s["freshness"]
        fresh_text = f"{_age(f['age_seconds'])} / {_age(f['allowed_seconds'])}"
        table.add_row(
            s["source"],
            "—" if run is None else f"{run['finished_at'][:19]} {run['status']}",
            "—"
            if run is None
            else "/".join(str(run[k]) for k in ("extracted", "inserted", "updated", "unchanged", "quarantined")),
            f"{s['ledger']['batches']} ({s['ledger']['failed']})",
            f"[red]LATE {fresh_text}[/red]" if f["late"] else f"[green]{fresh_text}[/green]",
            str(s["quarantine_pending"]),
            str(s["findings"]),
        )
    console = Console()
    console.print(table)
    push = report["push_backlog"]
    rec = report["last_reconciliation"]
    console.print(f"push backlog: {push if push == NA else push['pending']}")
    console.print(f"last reconciliation: {rec if rec == NA else (rec['at'] or 'never')}")
