"""End to end: the real ``ingest_sc_market_entities`` DAG with ``dag.test()`` against the 市场监管 simulator."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow.compute as pc
import pytest

from devkit.dagrun import run_dag_once
from hub.store import embedded, ledger
from schemas.standards import uscc
from simulators.city import CityPlan, entities, persons
from simulators.sc import entities as sc
from simulators.sc.provision import provision
from tests.conftest import ADMIN_URI, connection_env, fresh_database

pytestmark = pytest.mark.e2e

DAG_ID = "ingest_sc_market_entities"
FIRST = dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC)
PLAN = CityPlan(30_000, 21)


def _store_rows(store: str) -> dict[str, tuple]:
    with psycopg.connect(store) as conn:
        rows = conn.execute("SELECT uscc, status, address, source_updated_at FROM shared.market_entity").fetchall()
    return {r[0]: r[1:] for r in rows}


def _source_latest(uri: str) -> dict[str, tuple]:
    """The latest row of every code with a valid check character, as the store must hold it."""
    with psycopg.connect(uri) as conn:
        rows = conn.execute(
            'SELECT DISTINCT ON ("TYSHXYDM") "TYSHXYDM", "DJZT", "ZS", "GXSJ" FROM "T_SCZT_DJXX" '
            'ORDER BY "TYSHXYDM", "GXSJ" DESC'
        ).fetchall()
    status = {"1": "ACTIVE", "2": "REVOKED", "3": "CANCELLED", "4": "MOVED_OUT"}
    utc8 = dt.timezone(dt.timedelta(hours=8))
    return {
        code: (status[djzt], zs, gxsj.replace(tzinfo=utc8))
        for code, djzt, zs, gxsj in rows
        if uscc.check(pc.cast([code], "string")).valid[0]
    }


def test_full_day_of_changes_and_repeat(airflow_db, store, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in provision(PLAN, ADMIN_URI).items():
        monkeypatch.setenv(key, value)
    source = embedded.database_uri(ADMIN_URI, sc.DATABASE)
    source_rows = entities(PLAN).num_rows

    run_id, state = run_dag_once(DAG_ID, FIRST)
    assert state == "success"
    full = ledger.get(store, f"sc_market_entities:{run_id}")
    assert full.balanced and full.extracted == source_rows
    assert full.rule_counts["key.superseded_in_batch"] > 0 and full.rule_counts["uscc.checksum"] > 0
    assert _store_rows(store) == _source_latest(source)

    change = sc.apply_day(source, 1, PLAN.seed, persons(PLAN.persons, PLAN.seed))
    second_id, state = run_dag_once(DAG_ID, FIRST + dt.timedelta(hours=1))
    assert state == "success"
    second = ledger.get(store, f"sc_market_entities:{second_id}")
    assert second.balanced and second.extracted == change.total
    assert (second.inserted, second.updated) == (change.registrations, change.total - change.registrations)
    assert _store_rows(store) == _source_latest(source)  # no row lost or doubled, the latest wins

    before = _store_rows(store)
    repeat_id, state = run_dag_once(DAG_ID, FIRST + dt.timedelta(hours=1))
    assert state == "success" and repeat_id == second_id
    repeat = ledger.get(store, f"sc_market_entities:{second_id}")
    assert (repeat.inserted, repeat.updated, repeat.unchanged) == (0, 0, change.total) and repeat.attempts == 2
    assert _store_rows(store) == before
    assert all(e.balanced for e in ledger.entries(store, "sc_market_entities"))


def test_the_connection_variable_alone_points_the_dag_elsewhere(
    airflow_db, store, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = persons(PLAN.persons, PLAN.seed)
    one, two = fresh_database("sc_one"), fresh_database("sc_two")
    sc.create(one, sc.generate(500, 1, people)[0])
    other, _ = sc.generate(700, 2, people)
    sc.create(two, other)
    monkeypatch.setenv("AIRFLOW_CONN_SC_MARKET_ENTITIES", connection_env(two))
    run_id, state = run_dag_once(DAG_ID, FIRST)
    assert state == "success"
    entry = ledger.get(store, f"sc_market_entities:{run_id}")
    assert entry.extracted == other.num_rows
    assert _store_rows(store) == _source_latest(two)
