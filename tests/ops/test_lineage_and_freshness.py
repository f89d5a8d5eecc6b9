"""Lineage events and freshness alerts from real ``dag.test()`` runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import psycopg
import pytest

from devkit.dagrun import load_dag, run_dag_once
from hub import airflow_env
from hub.ops import freshness
from hub.registry import SOURCES, get

pytestmark = pytest.mark.e2e

RUN_AT = dt.datetime(2026, 11, 3, 1, tzinfo=dt.UTC)


def _events() -> list[dict]:
    path = airflow_env.lineage_file()
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_an_ingest_run_emits_lineage_with_the_shared_table_as_output(airflow_db, store, ga_source) -> None:
    before = len(_events())
    _run_id, state = run_dag_once("ingest_ga_population", RUN_AT)
    assert state == "success"
    events = _events()[before:]
    ingest = [e for e in events if e["job"]["name"] == "ingest_ga_population.ingest"]
    assert {e["eventType"] for e in ingest} >= {"START", "COMPLETE"}
    complete = next(e for e in ingest if e["eventType"] == "COMPLETE")
    assert complete["job"]["namespace"] == airflow_env.LINEAGE_NAMESPACE
    outputs = {(o["namespace"], o["name"]) for o in complete["outputs"]}
    assert ("postgres://hub-store:5432", "sharehub.shared.population") in outputs
    # The input is the department table, read through the ga_population connection.
    inputs = {(i["namespace"], i["name"]) for i in complete["inputs"]}
    database = json.loads(os.environ["AIRFLOW_CONN_GA_POPULATION"])["schema"]
    assert inputs == {("postgres://localhost:5432", f"{database}.public.T_RK_JBXX")}


def _make_late(store: str, source: str, hours: float) -> None:
    with psycopg.connect(store) as conn:
        conn.execute(
            "UPDATE hub.ledger SET finished_at = now() - %s * interval '1 hour' WHERE source = %s", (hours, source)
        )
        conn.execute(
            "UPDATE hub.cursor SET updated_at = now() - %s * interval '1 hour' WHERE source = %s", (hours, source)
        )


def _status_json(store_conn_env: str) -> dict:
    import os

    env = {**os.environ, "AIRFLOW_CONN_HUB_STORE": store_conn_env}
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "status", "--json"], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_a_late_source_shows_in_status_and_the_watch_dag_alerts(airflow_db, store, ga_source, monkeypatch) -> None:
    import os

    run_dag_once("ingest_ga_population", RUN_AT)
    conn_env = os.environ["AIRFLOW_CONN_HUB_STORE"]
    fresh = _status_json(conn_env)["sources"][0]
    assert fresh["source"] == "ga_population" and fresh["freshness"]["late"] is False
    assert fresh["last_run"]["status"] == "succeeded" and fresh["ledger"]["batches"] == 1
    assert isinstance(fresh["findings"], int)

    allowed_h = freshness.allowed_age(get("ga_population")).total_seconds() / 3600
    _make_late(store, "ga_population", allowed_h + 1)
    late = _status_json(conn_env)["sources"][0]["freshness"]
    assert late["late"] is True and late["age_seconds"] > late["allowed_seconds"]

    _, state = run_dag_once("watch_freshness", RUN_AT)
    assert state == "success"
    with psycopg.connect(store) as conn:
        alerts = conn.execute(
            "SELECT source, kind, message FROM hub.freshness_alert WHERE source = 'ga_population'"
        ).fetchall()
        never_loaded = {
            r[0]
            for r in conn.execute("SELECT DISTINCT source FROM hub.freshness_alert WHERE source <> 'ga_population'")
        }
    assert [(s, k) for s, k, _ in alerts] == [("ga_population", "watch")]
    # the other registered sources never loaded in this store: they are late too
    assert never_loaded == {s.name for s in SOURCES} - {"ga_population"}
    assert "ga_population is late" in alerts[0][2]
    status = _status_json(conn_env)["sources"][0]
    assert status["last_alert"]["kind"] == "watch"


def test_a_fresh_source_raises_no_alert(airflow_db, store, ga_source) -> None:
    run_dag_once("ingest_ga_population", RUN_AT)
    _, state = run_dag_once("watch_freshness", RUN_AT + dt.timedelta(minutes=15))
    assert state == "success"
    with psycopg.connect(store) as conn:
        assert (
            conn.execute("SELECT count(*) FROM hub.freshness_alert WHERE source = 'ga_population'").fetchone()[0] == 0
        )


def test_ingest_dags_carry_a_deadline_alert_whose_callback_records_the_late_source(store, monkeypatch) -> None:
    dag = load_dag("ingest_ga_population")
    (alert,) = dag.deadline
    assert alert.interval == freshness.schedule_interval("@hourly")
    assert alert.callback.path == "hub.ops.freshness.deadline_missed"
    assert alert.callback.kwargs == {"source": "ga_population"}
    # The scheduler calls it with the kwargs and a context holding the run as the REST API's JSON
    # (tests/ops/test_stack.py sees the real scheduler do it).
    freshness.deadline_missed(**alert.callback.kwargs, context={"dag_run": {"dag_run_id": "scheduled__x"}})
    with psycopg.connect(store) as conn:
        row = conn.execute("SELECT source, kind, run_id FROM hub.freshness_alert").fetchone()
    assert row == ("ga_population", "deadline", "scheduled__x")


def test_schedule_interval_of_presets_and_cron() -> None:
    assert freshness.schedule_interval("@daily") == dt.timedelta(days=1)
    assert freshness.schedule_interval("*/15 * * * *") == dt.timedelta(minutes=15)
    assert freshness.schedule_interval("0 2 * * 1-5") == dt.timedelta(days=3)


def test_status_reports_findings_push_backlog_and_reconciliation(store, ga_source) -> None:
    import os

    with psycopg.connect(store) as conn:
        conn.execute(
            "INSERT INTO quality.finding (source, rule, record_key, message, check_run_id) VALUES "
            "('shared.population', 'person.example', 'k1', 'example finding', 'r1')"
        )
        conn.execute(
            "INSERT INTO hub.push_reconciliation (kind, day, platform_count, platform_digest, hub_count, hub_digest, "
            "matched) VALUES ('cases', '2026-11-01', 3, 'd', 3, 'd', true)"
        )
    report = _status_json(os.environ["AIRFLOW_CONN_HUB_STORE"])
    by_source = {s["source"]: s for s in report["sources"]}
    assert by_source["ga_population"]["findings"] == 1
    assert by_source["sc_market_entities"]["findings"] == 0
    assert report["push_backlog"] == {}
    assert report["last_reconciliation"]["cases"]["matched"] is True
