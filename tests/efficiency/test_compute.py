"""The indicators on the hand-built fortnight, incremental recomputation and idempotence."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from psycopg.rows import dict_row

from hub import faults
from hub.cli import main
from hub.efficiency.compute import recompute
from tests.efficiency import fortnight as F

BUSINESS = "stat_date, dept_code, item_code"


def table(uri: str, name: str = "shared.service_efficiency", key: str = BUSINESS) -> dict[tuple, dict]:
    with psycopg.connect(uri, row_factory=dict_row) as conn:
        rows = conn.execute(f"SELECT * FROM {name}").fetchall()
    return {tuple(r[k.strip()] for k in key.split(",")): r for r in rows}


def business(rows: dict[tuple, dict]) -> dict[tuple, dict]:
    lineage = {"source_system", "batch_id", "loaded_at", "record_hash"}
    return {k: {c: v for c, v in r.items() if c not in lineage} for k, r in rows.items()}


def assert_matches(actual: dict[tuple, dict], expected: dict[tuple, dict]) -> None:
    assert sorted(actual) == sorted(expected)
    for key, want in expected.items():
        got = {c: actual[key][c] for c in want}
        assert got == want, key


def test_fortnight_matches_the_hand_computed_answers(store) -> None:
    F.insert_steps(store, F.STEPS)
    result = recompute(store, F.AS_OF)
    assert result.full and result.changed_cases == 10
    assert_matches(table(store), F.expected_rows(F.EXPECTED))

    reviews = table(store, "shared.service_bad_review", "case_no")
    assert sorted(reviews) == [("C4",), ("C6",)]
    assert reviews[("C4",)]["followup_due"] == dt.date(2026, 10, 23)
    assert reviews[("C6",)]["followup_due"] == dt.date(2026, 10, 22)
    assert reviews[("C6",)]["evaluated_on"] == dt.date(2026, 9, 25)
    assert not any(r["followup_overdue"] for r in reviews.values())


def test_a_late_step_rewrites_only_the_affected_days_and_equals_a_full_recompute(store) -> None:
    F.insert_steps(store, F.STEPS)
    recompute(store, F.AS_OF, batch_id="efficiency:first")
    before = table(store)

    F.insert_steps(store, F.LATE_STEPS, first_step_no=len(F.STEPS) + 1)
    result = recompute(store, F.AS_OF, batch_id="efficiency:late")
    after = table(store)
    assert not result.full and result.changed_cases == 2
    assert result.affected_days == F.LATE_AFFECTED
    assert_matches(after, F.expected_rows(F.EXPECTED_AFTER_LATE))
    untouched = {k: r for k, r in before.items() if k[0] not in F.LATE_AFFECTED}
    assert untouched and all(after[k] == r for k, r in untouched.items())  # lineage too: not rewritten
    assert {r["batch_id"] for k, r in after.items() if k[0] in F.LATE_AFFECTED} == {"efficiency:late"}

    incremental = business(after)
    recompute(store, F.AS_OF, full=True)
    assert business(table(store)) == incremental


def test_running_again_changes_nothing(store) -> None:
    F.insert_steps(store, F.STEPS)
    recompute(store, F.AS_OF, batch_id="efficiency:first")
    before = table(store)
    again = recompute(store, F.AS_OF, batch_id="efficiency:again")
    assert (again.changed_cases, again.affected_days, again.rows_written) == (0, [], 0)
    assert table(store) == before


def test_steps_arriving_in_any_batch_order_give_the_same_table(store) -> None:
    by_batch: dict[str, list] = {}
    for step in F.STEPS:
        by_batch.setdefault(step[-1], []).append(step)
    numbered = {s: n for n, s in enumerate(F.STEPS, 1)}
    for batch in ("b3", "b1", "b2"):  # newest first, one computation after each
        for step in by_batch[batch]:
            F.insert_steps(store, [step], first_step_no=numbered[step])
        recompute(store, F.AS_OF)
    assert_matches(table(store), F.expected_rows(F.EXPECTED))


def test_new_days_follow_up_and_bad_review_overdue(store, capsys) -> None:
    F.insert_steps(store, F.STEPS)
    recompute(store, F.AS_OF)
    result = recompute(store, dt.date(2026, 10, 23))
    assert result.affected_days[0] == dt.date(2026, 9, 29) and result.affected_days[-1] == dt.date(2026, 10, 23)
    rows = table(store)
    a_a = (F.DEPTS["A"][0], "ITEM_A")
    # C3 stays open: 7 working days past due through the National Day holiday, 8 on Thu 10-08.
    assert rows[(dt.date(2026, 10, 7), *a_a)]["overdue_working_days"] == 7
    assert rows[(dt.date(2026, 10, 8), *a_a)]["overdue_working_days"] == 8
    reviews = table(store, "shared.service_bad_review", "case_no")
    assert (reviews[("C6",)]["followup_overdue"], reviews[("C4",)]["followup_overdue"]) == (True, False)
    b_c = (F.DEPTS["B"][0], "ITEM_C")
    assert rows[(dt.date(2026, 10, 23), *b_c)]["bad_reviews_overdue"] == 1
    assert rows[(dt.date(2026, 10, 22), *b_c)]["bad_reviews_overdue"] == 0  # C6 due that day: not yet overdue
    assert rows[(dt.date(2026, 10, 22), *b_c)]["overdue_open"] == 2  # C5, and C7 (due Sat 10-10, a make-up day)

    assert main(["efficiency", "followup", "--case", "C1", "--date", "2026-10-24"]) == 2  # C1 was rated 5
    assert "C1 has no 差评" in capsys.readouterr().err
    assert main(["efficiency", "followup", "--case", "C6", "--date", "2026-10-24"]) == 0
    assert main(["efficiency", "recompute", "--date", "2026-10-26", "--json"]) == 0
    run = json.loads(capsys.readouterr().out.splitlines()[-1])
    # C6 stays overdue on 10-23 (unchanged); 10-24..10-26 are both new days and days C6 leaves.
    assert run["changed_cases"] == 1 and run["affected_days"] == ["2026-10-24", "2026-10-25", "2026-10-26"]
    rows = table(store)
    overdue = {k[0]: r["bad_reviews_overdue"] for k, r in rows.items() if k[1:] == b_c and r["bad_reviews_overdue"]}
    assert overdue == {dt.date(2026, 10, 23): 1}  # followed up on Sat 10-24, a day late
    a_b = (F.DEPTS["A"][0], "ITEM_B")
    assert rows[(dt.date(2026, 10, 26), *a_b)]["bad_reviews_overdue"] == 1  # C4: due Fri 10-23, none recorded
    reviews = table(store, "shared.service_bad_review", "case_no")
    assert reviews[("C6",)]["followed_up_on"] == dt.date(2026, 10, 24)
    assert (reviews[("C6",)]["followup_overdue"], reviews[("C4",)]["followup_overdue"]) == (True, True)


def test_a_calendar_change_recomputes_everything(store) -> None:
    F.insert_steps(store, F.STEPS)
    recompute(store, F.AS_OF)
    with psycopg.connect(store) as conn:  # suppose 09-21 were declared a holiday
        conn.execute("INSERT INTO hub.working_calendar (day, kind, name) VALUES ('2026-09-21', 'holiday', 'test')")
    result = recompute(store, F.AS_OF)
    assert result.full
    rows = table(store)
    # C3 due Sun 09-20; with Mon 09-21 off, overdue starts on Tue 09-22 at 1 working day.
    a_a = (F.DEPTS["A"][0], "ITEM_A")
    assert (dt.date(2026, 9, 21), *a_a) not in rows
    assert rows[(dt.date(2026, 9, 22), *a_a)]["overdue_working_days"] == 1


def test_a_crash_before_commit_leaves_everything_as_it_was(store, monkeypatch) -> None:
    F.insert_steps(store, F.STEPS)
    recompute(store, F.AS_OF, batch_id="efficiency:first")
    before = (
        table(store),
        table(store, "hub.efficiency_case", "case_no"),
        table(store, "hub.efficiency_seen", "batch_id"),
    )
    F.insert_steps(store, F.LATE_STEPS, first_step_no=len(F.STEPS) + 1)
    monkeypatch.setenv("HUB_FAILPOINTS", "efficiency.before_commit")
    with pytest.raises(faults.InjectedFault):
        recompute(store, F.AS_OF, batch_id="efficiency:crashed")
    after = (
        table(store),
        table(store, "hub.efficiency_case", "case_no"),
        table(store, "hub.efficiency_seen", "batch_id"),
    )
    assert after == before

    monkeypatch.delenv("HUB_FAILPOINTS")
    result = recompute(store, F.AS_OF, batch_id="efficiency:retry")
    assert result.affected_days == F.LATE_AFFECTED
    assert_matches(table(store), F.expected_rows(F.EXPECTED_AFTER_LATE))
