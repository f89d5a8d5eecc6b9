"""A 对账 difference that the re-queue does not repair fails the reconcile DAG and shows in ``hub status``."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import psycopg
import pytest
import requests

from devkit.dagrun import run_dag_once
from hub.deployment import create_pools
from hub.push.cases import derive_cases
from hub.push.reconcile import reconcile
from simulators.province import shared_rows
from tests.push.helpers import client, push_until_settled

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _status_json() -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "status", "--json"],
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_a_persistent_difference_fails_the_dag_and_raises_an_alert_until_the_day_matches(
    airflow_db, store, platform
) -> None:
    create_pools()
    shared_rows.insert_cases(store, 10)
    derive_cases(store)
    push_until_settled(store)
    with psycopg.connect(store) as conn:
        day = conn.execute("SELECT DISTINCT accepted_on FROM hub.push_outbox").fetchone()[0]
        payload = conn.execute("SELECT payload FROM hub.push_outbox LIMIT 1").fetchone()[0]
    # the platform holds a record the hub never sent (another client of the same app id): no resend repairs that
    foreign = payload | {"case_no": "SQ-FOREIGN-1"}
    assert client().send_batch("cases", "foreign-1", [foreign])[0]["status"] == "ACCEPTED"

    run_after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(2, 30), tzinfo=SHANGHAI)
    _, state = run_dag_once("reconcile_provincial", run_after.astimezone(dt.UTC))
    assert state == "failed"
    with psycopg.connect(store) as conn:
        checks = conn.execute(
            "SELECT kind, matched, platform_count, hub_count, requeued FROM hub.push_reconciliation ORDER BY id"
        ).fetchall()
        alerts = conn.execute(
            "SELECT kind, day, platform_count, hub_count, cleared_at FROM hub.reconciliation_alert"
        ).fetchall()
    assert checks == [  # compared, re-queued and resent (all DUPLICATE), compared again: still 11 against 10
        ("certificates", True, 0, 0, 0),
        ("cases", False, 11, 10, 10),
        ("certificates", True, 0, 0, 0),
        ("cases", False, 11, 10, 0),
    ]
    assert alerts == [("cases", day, 11, 10, None)]
    status = _status_json()
    assert [(a["kind"], a["day"], a["platform_count"], a["hub_count"]) for a in status["reconciliation_alerts"]] == [
        ("cases", day.isoformat(), 11, 10)
    ]
    assert "the counts differ" in status["reconciliation_alerts"][0]["message"]
    assert status["last_reconciliation"]["cases"]["matched"] is False

    # the operator has the foreign record removed on the platform: the day matches and the alert clears
    gone = requests.delete(
        platform.url + "/admin/records", params={"kind": "cases", "key": "SQ-FOREIGN-1", "version": 1}, timeout=10
    )
    assert gone.json() == {"deleted": 1}
    assert reconcile(store, client(), day, requeue=False)["cases"]["matched"]
    assert _status_json()["reconciliation_alerts"] == []
