"""End to end: the real ``ingest_yb_medical_insurance`` DAG (deferrable wait, ingest, ledger check) with
``dag.test()`` on the 医保 file-drop simulator, duplicate delivery and schema drift switched on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from devkit.dagrun import run_dag_once
from hub.store import ledger
from simulators.city import CityPlan
from simulators.yb import enrolments
from simulators.yb.enrolments import DRIFT_COLUMN, Dirt
from simulators.yb.provision import deliver_day, inbox_of, provision

pytestmark = pytest.mark.e2e

DAG_ID = "ingest_yb_medical_insurance"
PLAN = CityPlan(2000, 11)
DAY0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _keys(table: pa.Table) -> set[tuple[str, str]]:
    return set(zip(table["人员编号"].to_pylist(), table["险种类型"].to_pylist(), strict=True))


def _store_keys(store: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]], int]:
    with psycopg.connect(store) as conn:
        loaded = conn.execute("SELECT person_no, insurance_type FROM shared.medical_insurance").fetchall()
        rejected = conn.execute(
            "SELECT raw->>'人员编号', raw->>'险种类型' FROM quarantine.record WHERE source = 'yb_medical_insurance'"
        ).fetchall()
    return set(loaded), set(rejected), len(loaded)


def test_daily_files_with_duplicate_delivery_and_drift(airflow_db, store, tmp_path: Path, monkeypatch) -> None:
    for key, value in provision(PLAN, "", tmp_path).items():
        monkeypatch.setenv(key, value)
    inbox = inbox_of(tmp_path)
    full = enrolments.full_state(PLAN)

    first_id, state = run_dag_once(DAG_ID, DAY0)
    assert state == "success"
    first = ledger.get(store, f"yb_medical_insurance:{first_id}")
    assert first.balanced and first.extracted == full.num_rows and first.inserted > 0.95 * full.num_rows

    delivered = deliver_day(inbox, 1, PLAN, dirt=Dirt(drift_column=True, bom=True), redeliver_previous=True)
    assert delivered["redelivered"] == enrolments.file_name(0)
    changes = enrolments.day_changes(PLAN, 1)
    second_id, state = run_dag_once(DAG_ID, DAY0 + dt.timedelta(days=1))
    assert state == "success"
    second = ledger.get(store, f"yb_medical_insurance:{second_id}")
    assert second.balanced and second.extracted == changes.num_rows  # the re-delivered full file is not read again
    assert second.drift_columns == [DRIFT_COLUMN]
    with psycopg.connect(store) as conn:
        deliveries = conn.execute(
            "SELECT file_name, outcome, records FROM hub.file_delivery ORDER BY batch_id, file_name, outcome"
        ).fetchall()
    assert sorted(deliveries) == sorted(
        [
            (enrolments.file_name(0), "loaded", full.num_rows),
            (enrolments.file_name(0), "duplicate", 0),
            (enrolments.file_name(1), "loaded", changes.num_rows),
        ]
    )

    # no row lost or doubled: every delivered key is loaded once or quarantined, and nothing else is there
    loaded, rejected, count = _store_keys(store)
    assert count == len(loaded)
    assert loaded | rejected == _keys(full) | _keys(changes)
    assert loaded <= _keys(full) | _keys(changes)
    latest = changes.filter(pc.equal(changes["参保状态"], "4"))
    with psycopg.connect(store) as conn:
        terminated = {
            r[0]
            for r in conn.execute(
                "SELECT person_no FROM shared.medical_insurance WHERE status = 'TERMINATED' AND source_file = %s",
                (enrolments.file_name(1),),
            ).fetchall()
        }
    assert terminated <= set(latest["人员编号"].to_pylist())

    repeat_id, state = run_dag_once(DAG_ID, DAY0 + dt.timedelta(days=1))
    assert state == "success" and repeat_id == second_id
    repeat = ledger.get(store, f"yb_medical_insurance:{second_id}")
    assert repeat.balanced and (repeat.inserted, repeat.updated) == (0, 0) and repeat.attempts == 2
    assert repeat.extracted == second.extracted
    assert _store_keys(store) == (loaded, rejected, count)
    assert all(e.balanced for e in ledger.entries(store, "yb_medical_insurance"))
