"""The daily whole-table quality DAG: house rules and schedule (its parse cost is checked in test_integrity)."""

from __future__ import annotations

import datetime as dt

import pytest

from devkit.dagrun import run_dag_once
from hub.settings import dags_folder, hub_home


def test_house_rules_and_daily_schedule() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder()))
    assert bag.import_errors == {}
    dag = bag.dags["quality_daily"]
    assert dag.doc_md and "whole-table" in dag.doc_md
    assert {"sharehub", "quality"} <= set(dag.tags) and dag.catchup is False and dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "sharehub-data-engineering" and task.retries >= 1
    assert [t.task_id for t in dag.tasks] == ["validate_all_tables"]
    assert dag.timetable.expression == "30 2 * * *"
    assert str(dag.timetable.timezone) == "Asia/Shanghai"


@pytest.mark.e2e
def test_a_daily_run_validates_every_table_and_reports_a_failing_suite(airflow_db, store) -> None:
    from quality.gx_suites import docs_dir
    from schemas.tables import TABLES
    from tests.quality.shared_rows import insert
    from tests.quality.test_findings import _person

    insert(store, "shared.population", [_person("11010519491231002X", "NORMAL") | {"name": " 张三"}])
    _run_id, state = run_dag_once("quality_daily", dt.datetime(2026, 11, 3, 18, 30, tzinfo=dt.UTC))
    assert state == "success"  # a failing suite is reported, the rows are loaded already
    pages = [
        p.relative_to(docs_dir(hub_home()) / "validations").parts
        for p in (docs_dir(hub_home()) / "validations").rglob("*.html")
    ]
    assert set(TABLES) <= {f"{parts[0]}.{parts[1]}" for parts in pages}  # GX files suite a.b under a/b/
