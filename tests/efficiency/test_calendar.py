"""The working-day calendar: shipped announcements, operator additions, Python and SQL agree."""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg
import pytest

from hub.cli import main
from hub.efficiency import calendar
from hub.efficiency.calendar import CalendarEntry, CalendarError, WorkingCalendar

D = dt.date


def test_shipped_2025_and_2026_announcements() -> None:
    cal = WorkingCalendar.from_package()
    # 2026 春节: 02-15..02-23 off; Sat 02-14 and Sat 02-28 worked.
    assert cal.is_working_day(D(2026, 2, 14)) and cal.is_working_day(D(2026, 2, 28))
    assert not any(cal.is_working_day(D(2026, 2, d)) for d in range(15, 24))
    # 2025 国庆+中秋: 10-01..10-08 off; Sun 09-28 and Sat 10-11 worked.
    assert cal.is_working_day(D(2025, 9, 28)) and cal.is_working_day(D(2025, 10, 11))
    assert not cal.is_working_day(D(2025, 10, 8))
    assert cal.is_working_day(D(2026, 11, 23)) and not cal.is_working_day(D(2026, 11, 22))
    # Wed 2026-09-30 + 3 working days: 10-01..07 off, Thu 10-08, Fri 10-09, Sat 10-10 (make-up).
    assert cal.add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert cal.working_days_between(D(2026, 2, 13), D(2026, 2, 24)) == 2  # Sat 02-14 and Tue 02-24
    total_2026 = cal.working_days_between(D(2025, 12, 31), D(2026, 12, 31))
    # 261 weekdays; holidays on weekdays: 元旦 2, 春节 6, 清明 1, 劳动节 3, 端午 1, 中秋 1, 国庆 5; 6 make-up days.
    assert total_2026 == 261 - (2 + 6 + 1 + 3 + 1 + 1 + 5) + 6 == 248


def test_vectorised_over_arrays() -> None:
    cal = WorkingCalendar.from_package()
    days = np.array(["2026-02-13", "2026-02-14", "2026-02-15"], dtype="datetime64[D]")
    assert cal.is_working_day(days).tolist() == [True, True, False]
    assert cal.working_days_between(days, days + 10).tolist() == [1, 1, 2]  # to 02-23, 02-24, 02-25
    assert cal.add_working_days(days, 1).astype(str).tolist() == ["2026-02-14", "2026-02-24", "2026-02-24"]


def test_python_and_the_store_agree(store) -> None:
    cal = WorkingCalendar.from_package()
    days = [D(2025, 1, 1) + dt.timedelta(days=n) for n in range(0, 730, 3)]
    with psycopg.connect(store) as conn:
        calendar.sync_package(conn)
        sql = conn.execute(
            "SELECT d, hub.is_working_day(d), hub.working_days_between(d, d + 17), hub.add_working_days(d, 5) "
            "FROM unnest(%s::date[]) AS d ORDER BY d",
            (days,),
        ).fetchall()
    for d, working, between, added in sql:
        assert (working, between, added) == (
            cal.is_working_day(d),
            cal.working_days_between(d, d + dt.timedelta(days=17)),
            cal.add_working_days(d, 5),
        ), d


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,kind\n", "header"),
        ("date,kind,name\n2027-02-30,holiday,春节\n", "x.csv:2: '2027-02-30' is not a date"),
        ("# c\ndate,kind,name\n2027-02-06,vacation,春节\n", "x.csv:3: kind 'vacation'"),
        ("date,kind,name\n2027-02-08,makeup_workday,调休\n", "x.csv:2: 2027-02-08 is a weekday"),
        ("date,kind,name\n2027-02-06,holiday,a\n2027-02-06,holiday,b\n", "x.csv:3: 2027-02-06 is already listed"),
    ],
)
def test_bad_calendar_files_name_file_line_and_rule(text: str, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        calendar.parse_csv(text, "x.csv")


def test_operator_extends_next_year_from_the_cli(store, tmp_path, capsys) -> None:
    assert main(["calendar", "add", "--date", "2027-01-01", "--kind", "holiday", "--name", "元旦"]) == 0
    path = tmp_path / "cn_2027.csv"
    path.write_text("date,kind,name\n2027-02-06,holiday,春节\n2027-02-07,makeup_workday,春节调休上班\n")
    assert main(["calendar", "load", "--file", str(path)]) == 0
    capsys.readouterr()
    assert main(["calendar", "list", "--year", "2027"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["2027-01-01", "2027-02-06", "2027-02-07"]
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT hub.is_working_day('2027-02-07'), hub.is_working_day('2027-01-01')").fetchone() == (
            True,
            False,
        )
        cal = WorkingCalendar.from_store(conn)
    assert cal.is_working_day(D(2027, 2, 7)) and not cal.is_working_day(D(2027, 2, 6))

    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind,name\n2027-02-08,makeup_workday,x\n")
    assert main(["calendar", "load", "--file", str(bad)]) == 2
    assert f"{bad}:2: 2027-02-08 is a weekday" in capsys.readouterr().err


def test_an_operator_correction_survives_the_package_sync(store) -> None:
    with psycopg.connect(store) as conn:
        calendar.sync_package(conn)
        calendar.add(conn, [CalendarEntry(D(2026, 10, 8), "holiday", "国庆节 (延长)")])
        assert calendar.sync_package(conn) == 0
        assert conn.execute("SELECT origin FROM hub.working_calendar WHERE day = '2026-10-08'").fetchone() == (
            "operator",
        )
