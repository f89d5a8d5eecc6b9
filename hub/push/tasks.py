"""The work of the push DAGs (the DAG files only wire these together)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from hub.push.cases import derive_cases
from hub.push.certificates import derive_certificates
from hub.push.outbox import outbox_counts, push
from hub.push.provincial_client import ProvincialClient, settings_from_connection
from hub.push.reconcile import reconcile
from hub.push.signer import signer_from_connection
from hub.store.connection import store_uri

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _client() -> Any:
    return ProvincialClient(settings_from_connection())


def derive_certificates_task(run_id: str) -> dict[str, int]:
    """Create the certificate versions (and outbox rows) the shared tables call for."""
    return derive_certificates(store_uri(), signer_from_connection(), run_id)


def derive_cases_task() -> dict[str, int]:
    """Create a case record version (outbox row) for every raised ``service_case`` version."""
    return derive_cases(store_uri())


def push_task() -> dict[str, Any]:
    """Push every pending record; fail (so Airflow retries later) if a batch's outcome stays unknown.

    Raises:
        AuthFailedError: on 401 (fix the connection's secret or the clock).
        RuntimeError: when some batches could not be settled in this run.
    """
    uri = store_uri()
    client = _client()
    try:
        report = push(uri, client)
    finally:
        client.close()
    summary = {"pushed": report.to_json(), "outbox": outbox_counts(uri), "client": dict(client.stats)}
    log.info("push summary: %s", summary)
    if report.unresolved:
        raise RuntimeError(
            f"{len(report.unresolved)} batch(es) left with an unknown outcome, resent on the next run: "
            + "; ".join(report.unresolved[:5])
        )
    return summary


def reconcile_day(run_after: dt.datetime | None) -> dt.date:
    """The day a daily 对账 run checks: the day before the run, in Asia/Shanghai."""
    when = run_after or dt.datetime.now(dt.UTC)
    return when.astimezone(SHANGHAI).date() - dt.timedelta(days=1)


def reconcile_task(day: str, requeue: bool = True) -> dict[str, Any]:
    """Compare ``day`` with the platform per kind (re-queueing the day's delivered rows on a difference).

    Args:
        day: ``YYYY-MM-DD`` (Asia/Shanghai).
        requeue: ``False`` for the recheck after the re-queued rows were resent: a difference left
            then is persistent.

    Raises:
        AirflowFailException: on the recheck, when a kind still differs (an alert row was written
            to ``hub.reconciliation_alert``); not retried, a retry would compare the same state.
    """
    client = _client()
    try:
        result = reconcile(store_uri(), client, dt.date.fromisoformat(day), requeue=requeue)
    finally:
        client.close()
    differing = {kind: entry for kind, entry in result.items() if not entry["matched"]}
    for kind, entry in differing.items():
        log.warning("reconciliation %s %s differs: %s", kind, day, entry)
    if differing and not requeue:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(
            f"对账 {day} still differs after the re-queue for {', '.join(sorted(differing))}: "
            + "; ".join(
                f"{kind} platform {e['platform']['accepted']} vs hub {e['hub']['accepted']}"
                for kind, e in sorted(differing.items())
            )
            + " (alert raised, see hub status)"
        )
    return result
