"""End to end: the real ``ingest_rs_social_insurance`` DAG (``dag.test()``) against the 人社 simulator process,
with its faults on: token expiry mid-run, 429 with Retry-After, 502/503 bursts and a slow page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from devkit.dagrun import run_dag_once
from hub.store import ledger
from simulators.city import CityPlan
from tests.simulators.rs_server import RsServer, rs_server, start_server

__all__ = ["rs_server"]
pytestmark = pytest.mark.e2e

DAG_ID = "ingest_rs_social_insurance"
FIRST = dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC)
FAULTS = {
    "expire_tokens_every": 4,
    "throttle_every": 5,
    "retry_after": 1,
    "unavailable_every": 7,
    "unavailable_burst": 2,
    "slow_every": 11,
    "slow_seconds": 2,
}
EXTRAS = {"page_size": 100, "timeout": 1, "backoff_base": 0.05, "backoff_max": 0.5, "batch_rows": 400}


def _loaded(store: str) -> dict[tuple[str, str], tuple[str, dt.datetime]]:
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT person_no, insurance_type, status, source_updated_at FROM shared.social_insurance"
        ).fetchall()
    return {(p, t): (s, u) for p, t, s, u in rows}


def _quarantined(store: str, batch_id: str) -> set[tuple[str, str]]:
    with psycopg.connect(store) as conn:
        refs = conn.execute("SELECT DISTINCT record_ref FROM quarantine.record WHERE batch_id = %s", (batch_id,))
        return {tuple(r[0].split("/")[:2]) for r in refs.fetchall()}


def _source(server: RsServer) -> dict[tuple[str, str], tuple[str, dt.datetime]]:
    with psycopg.connect(server.db_uri) as conn:
        rows = conn.execute("SELECT grbh, xzlx, cbzt, gxsj FROM insured_persons").fetchall()
    return {(g, x): ({"1": "ACTIVE", "2": "SUSPENDED", "3": "TERMINATED"}[c], t) for g, x, c, t in rows}


def test_full_incremental_and_repeated_runs_with_faults(airflow_db, store, rs_server, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RS_SOCIAL_INSURANCE", rs_server.connection(**EXTRAS))
    rs_server.faults(**FAULTS)
    source = _source(rs_server)

    run_id, state = run_dag_once(DAG_ID, FIRST)
    assert state == "success"
    full = ledger.get(store, f"rs_social_insurance:{run_id}")
    assert full is not None and full.balanced
    assert full.extracted == len(source)  # nothing lost, nothing read twice
    loaded, rejected = _loaded(store), _quarantined(store, full.batch_id)
    assert full.inserted == len(loaded) and full.quarantined == len(rejected)
    assert set(loaded) | rejected == set(source) and not set(loaded) & rejected
    assert all(loaded[k] == source[k] for k in loaded)
    counters = rs_server.counters()
    assert min(counters[k] for k in ("unauthorized", "throttled", "unavailable", "slow")) >= 1

    change = rs_server.day(1)
    source = _source(rs_server)
    second_id, state = run_dag_once(DAG_ID, FIRST + dt.timedelta(hours=1))
    assert state == "success"
    second = ledger.get(store, f"rs_social_insurance:{second_id}")
    assert second.balanced and second.extracted == change["total"]
    assert second.inserted + second.quarantined >= change["enrolments"] and second.updated > 0
    loaded = _loaded(store)
    assert set(loaded) <= set(source) and all(loaded[k] == source[k] for k in loaded)
    assert set(source) - set(loaded) == rejected | _quarantined(store, second.batch_id)

    repeat_id, state = run_dag_once(DAG_ID, FIRST + dt.timedelta(hours=1))
    assert state == "success" and repeat_id == second_id
    repeat = ledger.get(store, f"rs_social_insurance:{second_id}")
    assert (repeat.inserted, repeat.updated) == (0, 0) and repeat.balanced
    assert repeat.unchanged == second.inserted + second.updated + second.unchanged
    assert repeat.attempts == 2
    assert _loaded(store) == loaded
    assert len(ledger.entries(store, "rs_social_insurance")) == 2


def test_the_connection_variable_alone_points_the_dag_at_another_server(
    airflow_db, store, rs_server, monkeypatch, tmp_path: Path
) -> None:
    other = start_server(tmp_path, plan=CityPlan(400, 3))
    try:
        assert len(other.rows()) != len(rs_server.rows())
        monkeypatch.setenv("AIRFLOW_CONN_RS_SOCIAL_INSURANCE", other.connection(page_size=200))
        run_id, state = run_dag_once(DAG_ID, FIRST)
        assert state == "success"
        entry = ledger.get(store, f"rs_social_insurance:{run_id}")
        assert entry.balanced and entry.extracted == len(other.rows())
        assert other.counters()["rows_served"] >= len(other.rows())
        assert rs_server.counters()["page_requests"] == 0
    finally:
        other.stop()
