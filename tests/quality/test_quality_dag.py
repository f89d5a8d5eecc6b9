"""The ``quality_check`` task after a real DAG run: findings recomputed, the batch's rows validated, Data Docs."""

from __future__ import annotations

import datetime as dt
import shutil

import psycopg
import pytest

from devkit.dagrun import run_dag_once
from hub.settings import hub_home
from quality.gx_suites import docs_dir, gx_root
from schemas.tables import TABLES

pytestmark = pytest.mark.e2e


def test_ingest_dag_runs_quality_check_and_updates_data_docs(airflow_db, store, ga_source) -> None:
    shutil.rmtree(gx_root(hub_home()), ignore_errors=True)
    _run_id, state = run_dag_once("ingest_ga_population", dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC))
    assert state == "success"  # ingest, verify_ledger and quality_check all succeeded
    index = (docs_dir(hub_home()) / "index.html").read_text(encoding="utf-8")
    assert "shared.population.batch" in index  # the batch's rows were validated; whole tables are quality_daily's
    assert not any(name in index for name in TABLES if name != "shared.population")
    assert 'href="quality_report.html"' in index
    suites = [
        p.relative_to(docs_dir(hub_home()) / "expectations").parts
        for p in (docs_dir(hub_home()) / "expectations").rglob("*.html")
    ]
    assert suites == [("shared", "population", "batch.html")]
    validations = list((docs_dir(hub_home()) / "validations").rglob("*.html"))
    assert validations and all(
        v.is_relative_to(docs_dir(hub_home()) / "validations" / "shared" / "population") for v in validations
    )
    assert "ga_population" in (docs_dir(hub_home()) / "quality_report.html").read_text(encoding="utf-8")
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM quality.finding").fetchone()[0] == 0  # only population loaded
