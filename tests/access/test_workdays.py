"""Working-day deadlines: weekends skipped, public holidays and 调休 days honoured."""

from __future__ import annotations

import datetime as dt

import psycopg

from hub.access.workdays import due_date
from hub.efficiency import calendar as efficiency_calendar


def test_ten_working_days_skip_weekends(store: str) -> None:
    with psycopg.connect(store, autocommit=True) as conn:
        assert due_date(conn, dt.date(2026, 11, 20), 10) == dt.date(2026, 12, 4)  # Friday -> Friday
        assert due_date(conn, dt.date(2026, 11, 21), 1) == dt.date(2026, 11, 23)  # Saturday -> Monday


def test_national_day_and_makeup_saturday(store: str) -> None:
    with psycopg.connect(store, autocommit=True) as conn:
        # 2026-10-01..07 are holidays; Saturday 10-10 is a make-up working day
        assert due_date(conn, dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)
        assert due_date(conn, dt.date(2026, 10, 9), 1) == dt.date(2026, 10, 10)


def test_an_operator_added_holiday_moves_the_deadline(store: str) -> None:
    with psycopg.connect(store, autocommit=True) as conn:
        assert due_date(conn, dt.date(2026, 11, 20), 1) == dt.date(2026, 11, 23)
        efficiency_calendar.add(conn, [efficiency_calendar.CalendarEntry(dt.date(2026, 11, 23), "holiday", "测试")])
        assert due_date(conn, dt.date(2026, 11, 20), 1) == dt.date(2026, 11, 24)
