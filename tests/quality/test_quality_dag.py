"""The ``quality_check`` task after a real DAG run: findings recomputed, the batch's rows validated and recorded."""

from __future__ import annotations

import datetime as dt
import shutil

import psycopg
import pytest

from devkit.dagrun import run_dag_once
from hub.settings import hub_home
from quality import report
from quality.gx_suites import docs_dir, gx_root

pytestmark = pytest.mark.e2e


def test_ingest_dag_runs_quality_check_and_records_the_batchs_outcome(airflow_db, store, ga_source) -> None:
    shutil.rmtree(gx_root(hub_home()), ignore_errors=True)
    _run_id, state = run_dag_once("ingest_ga_population", dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC))
    assert state == "success"  # ingest, verify_ledger and quality_check all succeeded
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM quality.finding").fetchone()[0] == 0  # only population loaded
        loaded = conn.execute("SELECT batch_id, count(*) FROM shared.population GROUP BY 1").fetchall()
        recorded = conn.execute(
            "SELECT batch_id, table_name, rows, whole_table, success, failed FROM quality.batch_validation"
        ).fetchall()
    ((batch_id, rows),) = loaded
    assert recorded == [(batch_id, "shared.population", rows, True, True, [])]
    shown = report.build(store)  # the quality report shows the outcome beside the run
    (run,) = shown["runs"]
    assert run["gx"] == {"table_name": "shared.population", "rows": rows, "success": True, "failed": []}
    assert f"{batch_id} succeeded " in report.render_text(shown) and " gx=ok" in report.render_text(shown)
    # GX ran in memory: no file context and no Data Docs per batch (the daily whole-table run builds them)
    assert not (gx_root(hub_home()) / "gx").exists() and not docs_dir(hub_home()).exists()
