"""Working-day deadlines: weekends skipped, a calendar's holidays and 调休 days honoured."""

from __future__ import annotations

import datetime as dt

import psycopg

from hub.access.workdays import add_working_days, calendar_from_store, due_date


def test_ten_working_days_skip_weekends() -> None:
    assert add_working_days(dt.date(2026, 11, 20), 10) == dt.date(2026, 12, 4)  # Friday -> Friday
    assert add_working_days(dt.date(2026, 11, 21), 1) == dt.date(2026, 11, 23)  # Saturday -> Monday


def test_calendar_overrides_holidays_and_working_weekends() -> None:
    calendar = {dt.date(2026, 11, 23): False, dt.date(2026, 11, 28): True}
    assert add_working_days(dt.date(2026, 11, 20), 1, calendar) == dt.date(2026, 11, 24)
    assert add_working_days(dt.date(2026, 11, 27), 1, calendar) == dt.date(2026, 11, 28)


def test_store_calendar_is_used_when_the_table_exists(store: str) -> None:
    with psycopg.connect(store, autocommit=True) as conn:
        assert calendar_from_store(conn) == {}
        assert due_date(conn, dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 1)
        conn.execute("CREATE TABLE hub.working_calendar (day date PRIMARY KEY, is_working boolean NOT NULL)")
        conn.execute(
            "INSERT INTO hub.working_calendar SELECT d::date, false FROM generate_series('2026-10-01'::date, "
            "'2026-10-08', interval '1 day') d"
        )
        assert due_date(conn, dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 9)
