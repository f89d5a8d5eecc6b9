"""``hub status``: every source at a glance, as rich tables or one JSON object.

Per source: the last run, ledger totals, freshness, pending quarantine, open cross-department
findings and the last alert; then the push backlog (``hub.push_outbox``), the last daily
reconciliation with the provincial platform (``hub.push_reconciliation``), the open
reconciliation alerts (``hub.reconciliation_alert``) and the delivered files still rejected as a
whole (``hub.file_delivery``). :mod:`hub.ops.status_view` draws it for a terminal of any width.
"""

from __future__ import annotations

from typing import Any

import psycopg

from hub import registry
from hub.ops import freshness as fresh
from hub.push.reconcile import open_alerts
from hub.store.connection import connect, store_uri


def _open_findings(conn: psycopg.Connection) -> dict[str, int]:
    """Open cross-department findings per shared table (``quality.finding.source`` is the table)."""
    return dict(conn.execute("SELECT source, count(*) FROM quality.finding WHERE status = 'open' GROUP BY source"))


def _push_backlog(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Outbox records not yet delivered, per kind: ``pending`` (to send) and ``parked`` (rejected, need a fix)."""
    backlog: dict[str, dict[str, int]] = {}
    for kind, status, n in conn.execute(
        "SELECT kind, status, count(*) FROM hub.push_outbox WHERE status <> 'delivered' GROUP BY kind, status"
    ):
        backlog.setdefault(kind, {"pending": 0, "parked": 0})[status] = n
    return backlog


def _last_reconciliation(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """The latest daily 对账 per kind: the day checked, whether it matched, when."""
    return {
        kind: {"day": day.isoformat(), "matched": matched, "checked_at": at.isoformat()}
        for kind, day, matched, at in conn.execute(
            "SELECT DISTINCT ON (kind) kind, day, matched, checked_at FROM hub.push_reconciliation "
            "ORDER BY kind, checked_at DESC"
        )
    }


def _rejected_files(conn: psycopg.Connection) -> dict[str, list[dict[str, Any]]]:
    """Delivered files still rejected as a whole (file-level dirt), per source, oldest first.

    A file counts while its latest delivery under that name was rejected (``hub.file_delivery``); a
    corrected file delivered again under the same name and loaded drops out.
    """
    rejected: dict[str, list[dict[str, Any]]] = {}
    for source, file_name, rule, reason, batch_id, at in conn.execute(
        "SELECT source, file_name, rule, reason, batch_id, finished_at FROM ("
        "  SELECT DISTINCT ON (source, file_name) * FROM hub.file_delivery "
        "  ORDER BY source, file_name, finished_at DESC"
        ") latest WHERE outcome = 'rejected' ORDER BY source, finished_at, file_name"
    ):
        rejected.setdefault(source, []).append(
            {"file": file_name, "rule": rule, "reason": reason, "batch_id": batch_id, "at": at.isoformat()}
        )
    return rejected


def collect(uri: str | None = None) -> dict[str, Any]:
    """Everything ``hub status`` shows, JSON-ready.

    Args:
        uri: The store; the configured one (``hub_store`` or embedded) when omitted.
    """
    if uri is None:
        uri = store_uri()
    freshness = {f.source: f for f in fresh.freshness(uri)}
    with connect(uri) as conn:
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
        findings = _open_findings(conn)
        alerts = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT DISTINCT ON (source) source, kind, detected_at FROM hub.freshness_alert "
                "ORDER BY source, detected_at DESC"
            ).fetchall()
        }
        push = _push_backlog(conn)
        reconciliation = _last_reconciliation(conn)
        reconciliation_alerts = open_alerts(conn)
        rejected = _rejected_files(conn)
    sources = []
    for spec in registry.SOURCES:
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
                "findings": sum(findings.get(t, 0) for t in spec.tables),
                "last_alert": None if alert is None else {"kind": alert[0], "at": alert[1].isoformat()},
                "rejected_files": rejected.get(spec.name, []),
            }
        )
    return {
        "sources": sources,
        "push_backlog": push,
        "last_reconciliation": reconciliation,
        "reconciliation_alerts": reconciliation_alerts,
    }
