"""The efficiency DAG: house rules and triggers (its parse cost is checked in test_integrity)."""

from __future__ import annotations

import datetime as dt

from hub.efficiency.dag import as_of_date
from hub.settings import dags_folder


def test_house_rules_and_triggers() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder()))
    assert bag.import_errors == {}
    dag = bag.dags["efficiency"]
    assert dag.doc_md and "效能监管" in dag.doc_md
    assert {"sharehub", "efficiency"} <= set(dag.tags) and dag.catchup is False and dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "sharehub-data-engineering" and task.retries >= 1
    assert [o.name for o in dag.get_task("recompute").outlets] == [
        "shared.service_efficiency",
        "shared.service_bad_review",
    ]
    # Either case table landing triggers a run; so does the daily time just after midnight in Yinchuan.
    assert {a.name for a in dag.timetable.asset_condition.objects} == {
        "shared.service_case",
        "shared.service_case_step",
    }
    assert dag.timetable.timetable.expression == "5 0 * * *"


def test_as_of_is_the_local_date() -> None:
    assert as_of_date(dt.datetime(2026, 9, 27, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 9, 28)
    assert as_of_date(dt.datetime(2026, 9, 27, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 9, 27)
