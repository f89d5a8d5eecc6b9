"""The push DAGs follow the house rules and stay cheap to parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hub.settings import dags_folder
from tests.dags.test_integrity import HEAVY_MODULES

PUSH_DAGS = {
    "derive_certificates": "derive_certificates.py",
    "push_provincial": "push_provincial.py",
    "reconcile_provincial": "reconcile_provincial.py",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(dags_folder()))


@pytest.mark.parametrize("dag_id", sorted(PUSH_DAGS))
def test_house_rules(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and dag.doc_md.startswith("# ")
    assert {"sharehub", "push"} <= set(dag.tags) and dag.catchup is False and dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "sharehub-data-engineering" and task.retries >= 1 and task.retry_exponential_backoff


def test_schedules_pools_and_assets(dagbag) -> None:
    from airflow.sdk import AssetOrTimeSchedule

    push = dagbag.dags["push_provincial"]
    assert isinstance(push.timetable, AssetOrTimeSchedule)
    assert push.timetable.timetable.expression == "*/5 * * * *"
    assert str(push.timetable.timetable.timezone) == "Asia/Shanghai"
    assert {a.name for a in push.timetable.asset_condition.objects} == {
        "shared.e_certificate",
        "hub.case_record",
    }
    assert push.get_task("push").pool == "provincial_platform"
    derive = dagbag.dags["derive_certificates"]
    assert {a.name for a in derive.timetable.asset_condition.objects} == {
        "shared.market_entity",
        "shared.social_insurance",
        "shared.service_case",
    }
    assert [o.name for o in derive.get_task("derive_certificates").outlets] == ["shared.e_certificate"]
    assert all(t.pool == "provincial_platform" for t in dagbag.dags["reconcile_provincial"].tasks)


@pytest.mark.parametrize("path", sorted(PUSH_DAGS.values()))
def test_parsing_imports_nothing_heavy(tmp_path, path: str) -> None:
    code = (
        "import json, runpy, sys\n"
        f"runpy.run_path({str(dags_folder() / path)!r})\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY_MODULES)!r}))))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
