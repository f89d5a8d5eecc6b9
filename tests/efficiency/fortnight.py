"""A hand-built fortnight of 政务服务 cases (2026-09-15 to 2026-09-28) with its answers worked out by hand.

The calendar around it (2026 as announced): Sun 09-20 is a make-up working day (国庆调休),
Fri 09-25 is 中秋节 (public holiday). Working-day ordinals (09-14 = 1): 15→2 16→3 17→4 18→5
19→5 20→6 21→7 22→8 23→9 24→10 25..27→10 28→11.

Cases (A = 市民政局, B = 市人社局):
- C1 A/ITEM_A window: 受理 09-15, 3 days → due 09-18; 办结 09-18 exactly on its due day (on time); 5.
- C2 A/ITEM_A web+mobile: 受理 Fri 09-18, 2 days → due Mon 09-21 (the make-up Sunday counts);
  办结 09-22 (late, 全程网办); evaluation 4 arrives late, on 09-23.
- C3 A/ITEM_A window, still open: 受理 09-16, 3 days → due Sun 09-20 (make-up day); overdue from
  09-21: 1, 2, 3, 4, then 4 through the holiday and weekend, 5 on 09-28.
- C4 A/ITEM_B window: 受理 Thu 09-24, 1 day → due Mon 09-28 (holiday on Fri); 办结 09-28 on time;
  evaluation 2 (差评) → follow-up due 09-28 + 15 working days = 10-23.
- C8 A/ITEM_B window: 受理 09-17, 1 day → due 09-18; overdue 1 on 09-20, 2 on 09-21; 撤回 09-22.
- C9 A/ITEM_B web: 申请 09-16 only, with an evaluation of 1 (dirt: never completed → not counted).
- C5 B/ITEM_C web: 受理 09-21, 1 day → due 09-22; open, overdue from 09-23 (1, 2, 2, 2, 2, 3).
- C6 B/ITEM_C kiosk: 申请 09-22, 办结 09-24, and its 受理 (09-22) arrives after the 办结 (out of
  order); 2 days → due 09-24, on time; evaluation 1 on 09-25 (holiday) → follow-up due 10-22.
- C7 B/ITEM_C mobile: 申请 at 00:30 local on 09-27 (16:30 UTC on 09-26); 受理 09-28.
- C10 B/ITEM_C window: 申请 and 不予受理 on 09-15.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg

AS_OF = dt.date(2026, 9, 28)
DEPTS = {"A": ("11640100MB1234567A", "银川市民政局"), "B": ("11640100MB7654321B", "银川市人力资源和社会保障局")}
ITEMS = {"ITEM_A": ("A", "最低生活保障审核"), "ITEM_B": ("A", "婚姻登记证明"), "ITEM_C": ("B", "社会保障卡申领")}

# (case, item, step, local time "MM-DD HH:MM", channel, promised days, satisfaction, batch)
STEPS: list[tuple[str, str, str, str, str, int | None, int | None, str]] = [
    ("C1", "ITEM_A", "SQ", "09-15 09:00", "WINDOW", 3, None, "b1"),
    ("C1", "ITEM_A", "SL", "09-15 09:30", "WINDOW", 3, None, "b1"),
    ("C1", "ITEM_A", "BJ", "09-18 16:00", "WINDOW", 3, 5, "b1"),
    ("C2", "ITEM_A", "SQ", "09-18 10:00", "WEB", 2, None, "b1"),
    ("C2", "ITEM_A", "SL", "09-18 11:00", "WEB", 2, None, "b1"),
    ("C2", "ITEM_A", "BJ", "09-22 15:00", "MOBILE", 2, None, "b1"),
    ("C3", "ITEM_A", "SQ", "09-16 09:00", "WINDOW", 3, None, "b1"),
    ("C3", "ITEM_A", "SL", "09-16 10:00", "WINDOW", 3, None, "b1"),
    ("C8", "ITEM_B", "SQ", "09-17 09:00", "WINDOW", 1, None, "b1"),
    ("C8", "ITEM_B", "SL", "09-17 09:10", "WINDOW", 1, None, "b1"),
    ("C9", "ITEM_B", "SQ", "09-16 11:00", "WEB", None, None, "b1"),
    ("C10", "ITEM_C", "SQ", "09-15 14:00", "WINDOW", 1, None, "b1"),
    ("C10", "ITEM_C", "BYSL", "09-15 15:00", "WINDOW", 1, None, "b1"),
    ("C5", "ITEM_C", "SQ", "09-21 08:30", "WEB", 1, None, "b1"),
    ("C5", "ITEM_C", "SL", "09-21 09:00", "WEB", 1, None, "b1"),
    ("C6", "ITEM_C", "SQ", "09-22 09:00", "KIOSK", 2, None, "b1"),
    ("C8", "ITEM_B", "CH", "09-22 10:00", "WINDOW", 1, None, "b2"),
    ("C2", "ITEM_A", "BJ", "09-23 20:00", "MOBILE", 2, 4, "b2"),
    ("C9", "ITEM_B", "SQ", "09-23 08:00", "WEB", None, 1, "b2"),
    ("C6", "ITEM_C", "BJ", "09-24 16:00", "WINDOW", 2, None, "b2"),
    ("C6", "ITEM_C", "SL", "09-22 09:30", "WINDOW", 2, None, "b3"),
    ("C4", "ITEM_B", "SQ", "09-24 09:00", "WINDOW", 1, None, "b3"),
    ("C4", "ITEM_B", "SL", "09-24 09:20", "WINDOW", 1, None, "b3"),
    ("C6", "ITEM_C", "BJ", "09-25 10:00", "KIOSK", 2, 1, "b3"),
    ("C7", "ITEM_C", "SQ", "09-27 00:30", "MOBILE", 5, None, "b3"),
    ("C7", "ITEM_C", "SL", "09-28 09:00", "MOBILE", 5, None, "b3"),
    ("C4", "ITEM_B", "BJ", "09-28 17:00", "WINDOW", 1, 2, "b3"),
]

# Arriving after the first computation: C5's 办结 on 09-23 (late, 2 > 1 working days, 全程网办)
# and C9's 受理 on 09-17. Only 09-17 and 09-23..09-28 may change.
LATE_STEPS = [
    ("C5", "ITEM_C", "BJ", "09-23 14:00", "WEB", 1, None, "b4"),
    ("C9", "ITEM_B", "SL", "09-17 10:00", "WEB", 10, None, "b4"),
]
LATE_AFFECTED = [dt.date(2026, 9, 17)] + [dt.date(2026, 9, d) for d in range(23, 29)]

A_A, A_B, B_C = ("A", "ITEM_A"), ("A", "ITEM_B"), ("B", "ITEM_C")


def _od(n: int) -> dict[str, int]:
    return {"overdue_open": 1, "overdue_working_days": n, "overdue_max_working_days": n}


def _done(on_time: int, online: int) -> dict[str, int]:
    return {"completed": 1, "completed_with_promise": 1, "completed_on_time": on_time, "completed_online": online}


RECEIVED = {"received": 1, "accepted": 1}

# (day of September, group) → the non-zero counts; the rates follow from them.
EXPECTED: dict[tuple[int, tuple[str, str]], dict[str, int]] = {
    (15, A_A): RECEIVED,
    (16, A_A): RECEIVED,
    (18, A_A): {**RECEIVED, **_done(1, 0), "eval_5": 1, "evaluations": 1},
    (21, A_A): _od(1),
    (22, A_A): {**_done(0, 1), **_od(2)},
    (23, A_A): {"eval_4": 1, "evaluations": 1, **_od(3)},
    (24, A_A): _od(4),
    (25, A_A): _od(4),
    (26, A_A): _od(4),
    (27, A_A): _od(4),
    (28, A_A): _od(5),
    (16, A_B): {"received": 1},
    (17, A_B): RECEIVED,
    (20, A_B): _od(1),
    (21, A_B): _od(2),
    (24, A_B): RECEIVED,
    (28, A_B): {**_done(1, 0), "eval_2": 1, "evaluations": 1, "bad_reviews": 1},
    (15, B_C): {"received": 1},
    (21, B_C): RECEIVED,
    (22, B_C): RECEIVED,
    (23, B_C): _od(1),
    (24, B_C): {**_done(1, 0), **_od(2)},
    (25, B_C): {"eval_1": 1, "evaluations": 1, "bad_reviews": 1, **_od(2)},
    (26, B_C): _od(2),
    (27, B_C): {"received": 1, **_od(2)},
    (28, B_C): {"accepted": 1, **_od(3)},
}

# After LATE_STEPS: C5 completed 09-23 late and online, no longer overdue; C9 accepted 09-17.
EXPECTED_AFTER_LATE = {k: v for k, v in EXPECTED.items() if k[1] != B_C or k[0] < 23}
EXPECTED_AFTER_LATE |= {
    (17, A_B): {"received": 1, "accepted": 2},
    (23, B_C): _done(0, 1),
    (24, B_C): _done(1, 0),
    (25, B_C): {"eval_1": 1, "evaluations": 1, "bad_reviews": 1},
    (27, B_C): {"received": 1},
    (28, B_C): {"accepted": 1},
}

COUNTS = (
    "received accepted completed completed_with_promise completed_on_time overdue_open overdue_working_days "
    "overdue_max_working_days completed_online eval_5 eval_4 eval_3 eval_2 eval_1 evaluations bad_reviews "
    "bad_reviews_overdue"
).split()


def expected_rows(expected: dict[tuple[int, tuple[str, str]], dict[str, int]]) -> dict[tuple, dict]:
    """Full expected rows keyed (stat_date, dept_code, item_code), rates derived from the hand counts."""

    def rate(num: int, den: int) -> Decimal | None:
        return None if den == 0 else (Decimal(num) / Decimal(den)).quantize(Decimal("0.0001"))

    rows = {}
    for (day, (dept, item)), counts in expected.items():
        row = {c: counts.get(c, 0) for c in COUNTS}
        row["on_time_rate"] = rate(row["completed_on_time"], row["completed_with_promise"])
        row["online_rate"] = rate(row["completed_online"], row["completed"])
        row["satisfaction_rate"] = rate(row["eval_4"] + row["eval_5"], row["evaluations"])
        row["dept_name"], row["item_name"] = DEPTS[dept][1], ITEMS[item][1]
        rows[(dt.date(2026, 9, day), DEPTS[dept][0], item)] = row
    return rows


def insert_steps(uri: str, steps: list[tuple], first_step_no: int = 1) -> None:
    """Insert steps into ``shared.service_case_step`` as an ingest batch would (one batch id each)."""
    with psycopg.connect(uri) as conn:
        for n, (case, item, step, when, channel, days, sat, batch) in enumerate(steps, first_step_no):
            dept_code, dept_name = DEPTS[ITEMS[item][0]]
            at = dt.datetime.strptime(f"2026-{when}+0800", "%Y-%m-%d %H:%M%z")
            conn.execute(
                "INSERT INTO shared.service_case_step (step_no, case_no, item_code, item_name, applicant_type, "
                "dept_code, dept_name, channel, step, step_at, promised_days, result, satisfaction, "
                "source_updated_at, source_system, batch_id, loaded_at, record_hash) VALUES "
                "(%s, %s, %s, %s, 'PERSON', %s, %s, %s, %s, %s, %s, %s, %s, %s, 'zw_case', %s, now(), md5(%s))",
                (
                    n, case, item, ITEMS[item][1], dept_code, dept_name, channel, step, at, days,
                    "APPROVED" if step == "BJ" else None, sat, at, f"zw_case:{batch}", f"{case}{n}",
                ),
            )  # fmt: skip
