"""Guarantees nothing else would notice losing: the ledger's balance CHECK, a crash after the commit,
and a failed re-run that must not hide an earlier good load."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from hub import faults, registry
from hub.pipeline import run_ingest
from hub.store import ledger
from simulators.ga import population

SPEC = registry.get("ga_population")
TODAY = dt.date(2026, 11, 23)
_INSERT = (
    "INSERT INTO hub.ledger (batch_id, source, run_id, target_table, status, extracted, inserted, updated, "
    "unchanged, quarantined, cursor_to, started_at) "
    "VALUES (%s, 'ga_population', 'run-1', 'shared.population', %s, %s, %s, %s, %s, %s, %s, now())"
)


def _count(uri: str, sql: str, *params: object) -> int:
    with psycopg.connect(uri) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_the_store_itself_refuses_an_unbalanced_succeeded_batch(store: str) -> None:
    with psycopg.connect(store) as conn:
        conn.execute(_INSERT, ("b-balanced", "succeeded", 10, 6, 1, 2, 1, None))
        conn.execute(_INSERT, ("b-failed", "failed", 10, 0, 0, 0, 0, None))  # a failed attempt loaded nothing
    for bad in ((10, 6, 1, 2, 0), (10, 6, 1, 2, 2), (0, 1, 0, 0, 0)):
        with psycopg.connect(store) as conn, pytest.raises(psycopg.errors.CheckViolation, match="ledger_balances"):
            conn.execute(_INSERT, ("b-unbalanced", "succeeded", *bad, None))
    with psycopg.connect(store) as conn, pytest.raises(psycopg.errors.CheckViolation, match="ledger_balances"):
        conn.execute("UPDATE hub.ledger SET inserted = inserted + 1 WHERE batch_id = 'b-balanced'")
    assert _count(store, "SELECT count(*) FROM hub.ledger") == 2


def test_a_failed_rerun_does_not_hide_an_earlier_good_load(store: str) -> None:
    with psycopg.connect(store) as conn:
        conn.execute(_INSERT, ("ga_population:run-1", "succeeded", 10, 6, 1, 2, 1, '{"GXSJ": "2026-11-01"}'))
    good = ledger.get(store, "ga_population:run-1")
    assert good is not None

    ledger.record_failure(
        store,
        batch_id="ga_population:run-1",
        source="ga_population",
        run_id="run-1",
        target_table="shared.population",
        started_at=dt.datetime.now(dt.UTC),
        error="RuntimeError: the re-run broke",
    )

    after = ledger.get(store, "ga_population:run-1")
    assert after is not None
    assert after.status == "succeeded" and after.balanced
    assert after.counts() == good.counts() and after.cursor_to == good.cursor_to
    assert after.attempts == good.attempts + 1 and after.error == "RuntimeError: the re-run broke"


def test_a_crash_after_the_commit_is_rerun_without_loading_twice(store: str, ga_source, monkeypatch) -> None:
    uri, _ = ga_source
    run_ingest(SPEC, "run-1", store=store, today=TODAY)
    population.apply_day(uri, 1, seed=7)
    monkeypatch.setenv("HUB_FAILPOINTS", "load.after_commit")
    with pytest.raises(faults.InjectedFault):
        run_ingest(SPEC, "run-2", store=store, today=TODAY)
    monkeypatch.delenv("HUB_FAILPOINTS")
    crashed = ledger.get(store, "ga_population:run-2")
    assert crashed is not None and crashed.status == "succeeded" and crashed.extracted > 0  # the load is in
    cursor = ledger.cursor(store, "ga_population")
    persons = _count(store, "SELECT count(*) FROM shared.population")
    quarantined = _count(store, "SELECT count(*) FROM quarantine.record")
    changed = crashed.inserted + crashed.updated

    rerun = run_ingest(SPEC, "run-2", store=store, today=TODAY)  # Airflow retries the task it never saw finish

    assert rerun.batch_id == crashed.batch_id and rerun.status == "succeeded" and rerun.balanced
    assert rerun.extracted == crashed.extracted  # the same window, found from the batch's ledger row
    assert (rerun.inserted, rerun.updated) == (0, 0) and rerun.unchanged == changed + crashed.unchanged
    assert rerun.quarantined == crashed.quarantined
    assert ledger.cursor(store, "ga_population") == cursor
    assert _count(store, "SELECT count(*) FROM shared.population") == persons
    assert _count(store, "SELECT count(*) FROM quarantine.record") == quarantined
    assert _count(store, "SELECT count(*) FROM shared.population WHERE batch_id = %s", crashed.batch_id) == changed
