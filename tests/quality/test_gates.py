"""Batch gates on the real pipeline: a dirty batch fails naming the gate and loads nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import adbc_driver_postgresql.dbapi as adbc
import numpy as np
import psycopg
import pyarrow as pa
import pytest

from hub import registry
from hub.pipeline import run_ingest
from hub.store import ledger
from quality import gates
from simulators.ga import population
from tests.conftest import connection_env, fresh_database

SPEC = registry.get("ga_population")
TODAY = dt.date(2026, 11, 23)


def _write_source(uri: str, table: pa.Table) -> None:
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{population.TABLE}"')
        for stmt in population.DDL.split(";"):
            if stmt.strip():
                cur.execute(stmt)
        cur.adbc_ingest(population.TABLE, table, mode="append")
        conn.commit()


def _break_check_characters(table: pa.Table, share: float, seed: int) -> pa.Table:
    """Swap the check character of ``share`` of the plain 18-character numbers."""
    ids = table["GMSFHM"].to_pylist()
    plain = [i for i, v in enumerate(ids) if v and len(v) == 18 and v.isascii() and v[-1].isdigit()]
    rng = np.random.default_rng(seed)
    for i in rng.choice(plain, size=round(len(ids) * share), replace=False):
        ids[i] = ids[i][:17] + str((int(ids[i][-1]) + 1) % 10)
    return table.set_column(table.schema.get_field_index("GMSFHM"), "GMSFHM", pa.array(ids, pa.string()))


def _count(uri: str, sql: str) -> int:
    with psycopg.connect(uri) as conn:
        return conn.execute(sql).fetchone()[0]


def _stamps(n: int, day: int) -> pa.Array:
    """``n`` distinct GXSJ values on day ``day`` after the simulator's base day (each run reads only its own)."""
    start = np.datetime64(population.BASE_DAY + dt.timedelta(days=day), "us")
    return pa.array(start + np.arange(n).astype("timedelta64[s]"))


@pytest.fixture
def dirty_source(monkeypatch: pytest.MonkeyPatch) -> tuple[str, pa.Table]:
    uri = fresh_database("sim_ga_dirty")
    clean, _ = population.generate(1000, seed=11)
    monkeypatch.setenv("AIRFLOW_CONN_GA_POPULATION", connection_env(uri))
    return uri, clean


def test_thirty_percent_bad_rows_fail_the_run_and_load_nothing(store: str, dirty_source) -> None:
    uri, clean = dirty_source
    _write_source(uri, _break_check_characters(clean, 0.30, seed=1))
    with pytest.raises(gates.GateFailed) as failed:
        run_ingest(SPEC, "run-1", store=store, today=TODAY)
    message = str(failed.value)
    assert "ga_population" in message and "max_quarantine_rate" in message
    assert "limit 8.0%" in message and "exceeded by" in message and "nothing from this batch was loaded" in message
    assert _count(store, "SELECT count(*) FROM shared.population") == 0
    assert _count(store, "SELECT count(*) FROM quarantine.record") == 0
    assert ledger.cursor(store, "ga_population") is None
    entry = ledger.get(store, "ga_population:run-1")
    assert entry is not None and entry.status == "failed" and "max_quarantine_rate" in (entry.error or "")

    _write_source(uri, clean)  # the department fixed its data
    loaded = run_ingest(SPEC, "run-2", store=store, today=TODAY)
    assert loaded.status == "succeeded" and loaded.extracted == 1000 and loaded.balanced
    assert loaded.quarantined < 100
    assert _count(store, "SELECT count(*) FROM shared.population") == loaded.inserted


def test_volume_gate_compares_with_recent_runs(store: str, dirty_source, monkeypatch) -> None:
    uri, clean = dirty_source
    spec = dataclasses.replace(SPEC, gates=gates.GateConfig(volume_factor=3, volume_min_history=2, min_rows=10))
    gxsj = clean.schema.get_field_index("GXSJ")
    for run in range(3):  # three runs of 100 fresh rows each
        part = clean.slice(run * 100, 100)
        shifted = _stamps(100, day=run)
        with adbc.connect(uri) as conn, conn.cursor() as cur:
            if run == 0:
                cur.execute(f'DROP TABLE IF EXISTS "{population.TABLE}"')
                for stmt in population.DDL.split(";"):
                    if stmt.strip():
                        cur.execute(stmt)
            cur.adbc_ingest(population.TABLE, part.set_column(gxsj, "GXSJ", shifted), mode="append")
            conn.commit()
        assert run_ingest(spec, f"run-{run}", store=store, today=TODAY).extracted == 100
    burst = clean.slice(300, 700)
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        shifted = _stamps(700, day=10)
        cur.adbc_ingest(population.TABLE, burst.set_column(gxsj, "GXSJ", shifted), mode="append")
        conn.commit()
    before = _count(store, "SELECT count(*) FROM shared.population")
    with pytest.raises(gates.GateFailed, match=r"gate volume failed: 700 rows extracted, 7.00x the median 100"):
        run_ingest(spec, "run-burst", store=store, today=TODAY)
    assert _count(store, "SELECT count(*) FROM shared.population") == before


def test_gate_settings_apply_over_the_defaults() -> None:
    config = gates.GateConfig(max_quarantine_rate=0.5)
    assert gates.check("s", config, extracted=1000, quarantined=400, history=[]) == []
    assert gates.check("s", config, extracted=50, quarantined=50, history=[]) == []  # below min_rows
