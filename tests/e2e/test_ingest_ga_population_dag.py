"""End to end: the real ``ingest_ga_population`` DAG run with ``dag.test()`` against the 公安 simulator."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from devkit.dagrun import run_dag_once
from hub.store import ledger
from simulators.ga import population

pytestmark = pytest.mark.e2e

FIRST = dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC)


def _population(store: str) -> int:
    with psycopg.connect(store) as conn:
        return conn.execute("SELECT count(*) FROM shared.population").fetchone()[0]


def test_full_then_incremental_then_repeated_run(airflow_db, store, ga_source) -> None:
    uri, _ = ga_source
    run_id, state = run_dag_once("ingest_ga_population", FIRST)
    assert state == "success"
    full = ledger.get(store, f"ga_population:{run_id}")
    assert full is not None and full.balanced and full.extracted == 4000 and full.inserted > 3900

    change = population.apply_day(uri, 1, seed=7)
    second_id, state = run_dag_once("ingest_ga_population", FIRST + dt.timedelta(hours=1))
    assert state == "success"
    second = ledger.get(store, f"ga_population:{second_id}")
    assert second.balanced and second.extracted == change.total and second.inserted == change.births

    rows_before = _population(store)
    repeat_id, state = run_dag_once("ingest_ga_population", FIRST + dt.timedelta(hours=1))
    assert state == "success" and repeat_id == second_id
    repeat = ledger.get(store, f"ga_population:{second_id}")
    assert (repeat.inserted, repeat.updated) == (0, 0)
    assert repeat.unchanged == second.inserted + second.updated + second.unchanged
    assert repeat.attempts == 2
    assert _population(store) == rows_before
    assert len(ledger.entries(store, "ga_population")) == 2
