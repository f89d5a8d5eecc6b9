"""Working-day deadlines for applications and objections (10 working days).

The calendar is the one of :mod:`hub.efficiency.calendar`: the shipped public holidays and
调休 days, overridden by what an operator added to ``hub.working_calendar``.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from hub.efficiency.calendar import CalendarEntry, WorkingCalendar, package_entries, stored_entries


def calendar(conn: psycopg.Connection) -> WorkingCalendar:
    """The shipped calendar with the store's entries (an operator's entry wins for its day)."""
    by_day = {e.day: e for e in package_entries()}
    for row in stored_entries(conn):
        by_day[row["day"]] = CalendarEntry(row["day"], row["kind"], row["name"])
    return WorkingCalendar(by_day.values())


def due_date(conn: psycopg.Connection, start: dt.date, days: int = 10) -> dt.date:
    """``days`` working days after ``start`` (``start`` itself not counted)."""
    return calendar(conn).add_working_days(start, days)
