"""End to end: the real ``efficiency`` DAG run with ``dag.test()`` on the hand-built fortnight."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from devkit.dagrun import run_dag_once
from hub.cli import main
from hub.efficiency.report import efficiency_summary
from tests.efficiency import fortnight as F
from tests.efficiency.test_compute import assert_matches, business, table

pytestmark = pytest.mark.e2e

# 10:00 in Yinchuan on 2026-09-28: the run's as-of date is 09-28.
RUN = dt.datetime(2026, 9, 28, 2, tzinfo=dt.UTC)


def test_dag_computes_then_folds_in_late_steps_idempotently(airflow_db, store, capsys) -> None:
    F.insert_steps(store, F.STEPS)
    run_id, state = run_dag_once("efficiency", RUN)
    assert state == "success"
    assert_matches(table(store), F.expected_rows(F.EXPECTED))
    assert {r["batch_id"] for r in table(store).values()} == {f"efficiency:{run_id}"}

    F.insert_steps(store, F.LATE_STEPS, first_step_no=len(F.STEPS) + 1)
    late_id, state = run_dag_once("efficiency", RUN + dt.timedelta(hours=1))
    assert state == "success"
    after = table(store)
    assert_matches(after, F.expected_rows(F.EXPECTED_AFTER_LATE))
    rewritten = {k[0] for k, r in after.items() if r["batch_id"] == f"efficiency:{late_id}"}
    assert rewritten <= set(F.LATE_AFFECTED) and dt.date(2026, 9, 23) in rewritten

    _, state = run_dag_once("efficiency", RUN + dt.timedelta(hours=1))  # the same run again
    assert state == "success"
    assert business(table(store)) == business(after)

    summary = efficiency_summary(store)
    assert summary["computed"] and summary["as_of"] == "2026-09-28"
    # 09-28: C4 completed on time; C3 and C7... overdue open: C3 (A/ITEM_A) only after C5 completed.
    assert summary["city"]["completed"] == 1 and summary["city"]["overdue_open"] == 1
    assert summary["bad_reviews"]["total"] == 2

    capsys.readouterr()
    assert main(["efficiency", "report", "--date", "2026-09-22", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # 09-22: C2 completed late and online; C6 received and accepted; C3 overdue.
    city = report["city"]
    assert (city["completed"], city["on_time_rate"], city["online_rate"], city["overdue_open"]) == (1, 0.0, 1.0, 1)
    assert [d["dept_code"] for d in report["departments"]] == [F.DEPTS["A"][0], F.DEPTS["B"][0]]
    assert main(["efficiency", "report", "--date", "2026-09-22"]) == 0
    assert "全市" in capsys.readouterr().out
