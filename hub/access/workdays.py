"""Working-day arithmetic for the 10-working-day deadlines (applications, objections).

Weekends are always skipped. Holidays (and 调休 working weekends) come from a calendar when
one is given: :func:`calendar_from_store` reads ``hub.working_calendar`` (``day date``,
``is_working boolean``) if that table exists, the working-day calendar of issue 8; until it
does, only weekends are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import psycopg

CALENDAR_TABLE = "hub.working_calendar"


def is_working_day(day: dt.date, calendar: Mapping[dt.date, bool] | None = None) -> bool:
    """Whether ``day`` is a working day (the calendar overrides the weekend rule)."""
    if calendar and day in calendar:
        return calendar[day]
    return day.weekday() < 5


def add_working_days(start: dt.date, days: int, calendar: Mapping[dt.date, bool] | None = None) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    current, left = start, days
    while left > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current, calendar):
            left -= 1
    return current


def calendar_from_store(conn: psycopg.Connection) -> dict[dt.date, bool]:
    """Calendar overrides from :data:`CALENDAR_TABLE`, or an empty mapping when it does not exist."""
    if conn.execute("SELECT to_regclass(%s)", (CALENDAR_TABLE,)).fetchone()[0] is None:
        return {}
    return dict(conn.execute(f"SELECT day, is_working FROM {CALENDAR_TABLE}").fetchall())


def due_date(conn: psycopg.Connection, start: dt.date, days: int = 10) -> dt.date:
    """``days`` working days after ``start`` using the store's calendar when there is one."""
    return add_working_days(start, days, calendar_from_store(conn))
