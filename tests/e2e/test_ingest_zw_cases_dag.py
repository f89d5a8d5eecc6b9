"""End to end: the real ``ingest_zw_cases`` DAG with ``dag.test()`` against the 政务服务 step log.

The case table is checked against an independent derivation in Python from the source rows.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from devkit.dagrun import run_dag_once
from hub.store import embedded, ledger
from simulators.city import CityPlan
from simulators.zw import cases
from simulators.zw.provision import provision
from tests.conftest import ADMIN_URI

pytestmark = pytest.mark.e2e

DAG_ID = "ingest_zw_cases"
FIRST = dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC)
PLAN = CityPlan(60_000, 4)
STATUS = (("BJ", "COMPLETED"), ("CH", "WITHDRAWN"), ("BYSL", "NOT_ACCEPTED"), ("SP", "PROCESSING"), ("SL", "ACCEPTED"))


def _expected_cases(source: str) -> dict[str, tuple]:
    """(status, version, last_step_no, accepted_at, completed_at, satisfaction) of every case, from the log."""
    with psycopg.connect(source) as conn:
        rows = conn.execute('SELECT "SBLSH", "LSH", "HJ", "HJSJ", "MYD" FROM "T_BJ_GCXX" ORDER BY "LSH"').fetchall()
    by_case: dict[str, list[tuple]] = {}
    for case, lsh, hj, at, myd in rows:
        by_case.setdefault(case, []).append((lsh, hj, at, myd))
    utc8 = dt.timezone(dt.timedelta(hours=8))
    out = {}
    for case, steps in by_case.items():
        kinds = {s[1] for s in steps}
        status = next((st for hj, st in STATUS if hj in kinds), "SUBMITTED")

        def first(hj: str, steps: list[tuple] = steps) -> dt.datetime | None:
            times = [s[2] for s in steps if s[1] == hj]
            return min(times).replace(tzinfo=utc8) if times else None

        evaluations = sorted((s[2], s[0], s[3]) for s in steps if s[3] is not None)
        out[case] = (
            status,
            len(steps),
            max(s[0] for s in steps),
            first("SL"),
            first("BJ"),
            evaluations[-1][2] if evaluations else None,
        )
    return out


def _store_cases(store: str) -> dict[str, tuple]:
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT case_no, status, version, last_step_no, accepted_at, completed_at, satisfaction "
            "FROM shared.service_case"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def _late_cases(store: str) -> set[str]:
    """Completed cases whose acceptance step has not arrived yet."""
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT case_no FROM shared.service_case WHERE status = 'COMPLETED' AND accepted_at IS NULL"
        ).fetchall()
    return {r[0] for r in rows}


def _count(uri: str, sql: str) -> int:
    with psycopg.connect(uri) as conn:
        return conn.execute(sql).fetchone()[0]


def test_full_day_of_cases_late_steps_and_repeat(airflow_db, store, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in provision(PLAN, ADMIN_URI).items():
        monkeypatch.setenv(key, value)
    source = embedded.database_uri(ADMIN_URI, cases.DATABASE)
    source_rows = _count(source, 'SELECT count(*) FROM "T_BJ_GCXX"')

    run_id, state = run_dag_once(DAG_ID, FIRST)
    assert state == "success"
    full = ledger.get(store, f"zw_cases:{run_id}")
    assert full.balanced and full.extracted == source_rows
    assert (full.inserted, full.quarantined) == (source_rows, 0)  # rows in = steps; nothing of this log is bad
    assert _count(store, "SELECT count(*) FROM shared.service_case_step") == source_rows
    assert _store_cases(store) == _expected_cases(source)

    day = cases.apply_day(source, PLAN, 1)
    assert day.late_steps > 0  # the day brings SL rows of cases whose BJ was loaded in the full run
    late = _late_cases(store)
    assert len(late) == day.late_steps
    second_id, state = run_dag_once(DAG_ID, FIRST + dt.timedelta(minutes=5))
    assert state == "success"
    second = ledger.get(store, f"zw_cases:{second_id}")
    assert second.balanced and (second.extracted, second.inserted) == (day.steps, day.steps)
    assert _count(store, "SELECT count(*) FROM shared.service_case_step") == source_rows + day.steps
    expected = _expected_cases(source)
    assert _store_cases(store) == expected  # the late steps fixed their cases: same state as in order
    assert not late & _late_cases(store)  # (a case completed today may wait for its SL until tomorrow)

    repeat_id, state = run_dag_once(DAG_ID, FIRST + dt.timedelta(minutes=5))
    assert state == "success" and repeat_id == second_id
    repeat = ledger.get(store, f"zw_cases:{second_id}")
    assert (repeat.inserted, repeat.updated, repeat.unchanged) == (0, 0, day.steps) and repeat.attempts == 2
    assert _store_cases(store) == expected
    assert _count(store, "SELECT count(*) FROM shared.service_case_step") == source_rows + day.steps
    assert len(ledger.entries(store, "zw_cases")) == 2
