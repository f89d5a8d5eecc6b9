"""The working-day calendar: Monday to Friday, minus public holidays, plus 调休 make-up working days.

The exceptions are data, not code: ``hub/efficiency/calendar/*.csv`` (``date,kind,name``; ``kind``
is ``holiday`` or ``makeup_workday``) ship the State Council's announcements, and
``hub.working_calendar`` in the store holds them plus whatever an operator adds (``hub calendar
add`` / ``hub calendar load``) for next year. The store's view ``hub.working_day`` numbers every
day with a working-day ordinal; the indicator computation joins it (set-based), and this module's
:class:`WorkingCalendar` does the same arithmetic on NumPy arrays for Python callers.

Convention everywhere: ``working_days_between(a, b)`` counts the working days in ``(a, b]``, and
``add_working_days(d, n)`` is the earliest day ``e`` with ``working_days_between(d, e) == n``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import psycopg

KINDS = ("holiday", "makeup_workday")
PACKAGE_ORIGIN = "package"
_EPOCH = dt.date(2020, 1, 1)


class CalendarError(ValueError):
    """A calendar entry is malformed; the message names the file and line."""


@dataclass(frozen=True)
class CalendarEntry:
    """One exception to the Monday-Friday rule."""

    day: dt.date
    kind: str
    name: str


def parse_csv(text: str, where: str) -> list[CalendarEntry]:
    """Parse calendar CSV text (``#`` lines are comments; header ``date,kind,name``).

    Args:
        text: The file's content.
        where: File name for error messages.

    Raises:
        CalendarError: naming ``where`` and the line, for a bad date or kind, a make-up working
            day that is not a weekend, or a day listed twice.
    """
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    if not lines or [c.strip() for c in lines[0][1].split(",")] != ["date", "kind", "name"]:
        raise CalendarError(f"{where}: the first non-comment line must be the header 'date,kind,name'")
    entries: list[CalendarEntry] = []
    seen: dict[dt.date, int] = {}
    for (lineno, _), row in zip(lines[1:], csv.reader(io.StringIO("\n".join(x for _, x in lines[1:]))), strict=True):
        if len(row) != 3:
            raise CalendarError(f"{where}:{lineno}: expected 3 columns date,kind,name, got {len(row)}")
        try:
            day = dt.date.fromisoformat(row[0].strip())
        except ValueError:
            raise CalendarError(f"{where}:{lineno}: {row[0]!r} is not a date YYYY-MM-DD") from None
        entry = CalendarEntry(day, row[1].strip(), row[2].strip())
        _check(entry, f"{where}:{lineno}")
        if day in seen:
            raise CalendarError(f"{where}:{lineno}: {day} is already listed on line {seen[day]}")
        seen[day] = lineno
        entries.append(entry)
    return entries


def _check(entry: CalendarEntry, where: str) -> None:
    if entry.kind not in KINDS:
        raise CalendarError(f"{where}: kind {entry.kind!r} must be one of {', '.join(KINDS)}")
    if entry.kind == "makeup_workday" and entry.day.isoweekday() < 6:
        raise CalendarError(f"{where}: {entry.day} is a weekday; a make-up working day (调休上班) falls on a weekend")
    if not entry.name:
        raise CalendarError(f"{where}: the entry for {entry.day} needs a name")


def package_entries() -> list[CalendarEntry]:
    """The announcements shipped with the package (``hub/efficiency/calendar/*.csv``)."""
    folder = resources.files("hub.efficiency").joinpath("calendar")
    entries: list[CalendarEntry] = []
    for path in sorted((p for p in folder.iterdir() if p.name.endswith(".csv")), key=lambda p: p.name):
        entries += parse_csv(path.read_text(encoding="utf-8"), f"hub/efficiency/calendar/{path.name}")
    return entries


def sync_package(conn: psycopg.Connection) -> int:
    """Upsert the shipped entries into ``hub.working_calendar``; an operator's entry for the same day wins.

    Returns:
        Rows inserted or changed.
    """
    return _upsert(conn, package_entries(), PACKAGE_ORIGIN, overwrite_operator=False)


def add(conn: psycopg.Connection, entries: Iterable[CalendarEntry], origin: str = "operator") -> int:
    """Add or replace entries (an operator's correction replaces a shipped one). Returns rows changed."""
    entries = list(entries)
    for e in entries:
        _check(e, f"entry {e.day}")
    return _upsert(conn, entries, origin, overwrite_operator=True)


def load_file(conn: psycopg.Connection, path: Path) -> int:
    """Add every entry of a calendar CSV file (same format as the shipped ones). Returns rows changed."""
    return add(conn, parse_csv(path.read_text(encoding="utf-8"), str(path)))


def _upsert(
    conn: psycopg.Connection, entries: Sequence[CalendarEntry], origin: str, *, overwrite_operator: bool
) -> int:
    guard = "" if overwrite_operator else "WHERE c.origin = 'package'"
    changed = 0
    with conn.cursor() as cur:
        for e in entries:
            cur.execute(
                "INSERT INTO hub.working_calendar AS c (day, kind, name, origin) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name, origin = excluded.origin, "
                f"added_at = now() {guard} {'AND' if guard else 'WHERE'} "
                "(c.kind, c.name, c.origin) IS DISTINCT FROM (excluded.kind, excluded.name, excluded.origin)",
                (e.day, e.kind, e.name, origin),
            )
            changed += cur.rowcount
    return changed


def stored_entries(conn: psycopg.Connection, year: int | None = None) -> list[dict[str, Any]]:
    """Rows of ``hub.working_calendar`` (optionally one year), in date order."""
    sql = "SELECT day, kind, name, origin FROM hub.working_calendar"
    params: tuple[Any, ...] = ()
    if year is not None:
        sql += " WHERE extract(year FROM day) = %s"
        params = (year,)
    rows = conn.execute(sql + " ORDER BY day", params).fetchall()
    return [{"day": r[0], "kind": r[1], "name": r[2], "origin": r[3]} for r in rows]


def fingerprint(conn: psycopg.Connection) -> str:
    """A digest of the stored calendar; the indicators are recomputed in full when it changes."""
    return conn.execute(
        "SELECT md5(coalesce(string_agg(day::text || kind, ',' ORDER BY day), '')) FROM hub.working_calendar"
    ).fetchone()[0]


class WorkingCalendar:
    """Working-day arithmetic over NumPy arrays of dates (``datetime64[D]``) or single dates.

    Args:
        entries: Holidays and make-up working days.
        until: Last day covered (default: two years past the last entry).
    """

    def __init__(self, entries: Iterable[CalendarEntry], until: dt.date | None = None) -> None:
        import numpy as np

        entries = list(entries)
        last = max([e.day for e in entries], default=dt.date.today())
        end = until or dt.date(max(last, dt.date.today()).year + 2, 12, 31)
        self._start = np.datetime64(_EPOCH, "D")
        days = np.arange(self._start, np.datetime64(end, "D") + 1, dtype="datetime64[D]")
        # 1970-01-01 was a Thursday: ISO weekday = (days since epoch + 3) % 7 + 1.
        working = ((days.astype("int64") + 3) % 7) < 5
        for e in entries:
            working[(np.datetime64(e.day, "D") - self._start).astype(int)] = e.kind == "makeup_workday"
        self._working = working
        self._index = np.cumsum(working)
        self._working_days = days[working]

    @classmethod
    def from_store(cls, conn: psycopg.Connection) -> WorkingCalendar:
        """The calendar as stored in ``hub.working_calendar``."""
        return cls(CalendarEntry(r["day"], r["kind"], r["name"]) for r in stored_entries(conn))

    @classmethod
    def from_package(cls) -> WorkingCalendar:
        """The calendar as shipped (no operator additions)."""
        return cls(package_entries())

    def _offset(self, days: Any) -> np.ndarray:
        import numpy as np

        offset = (np.asarray(days, dtype="datetime64[D]") - self._start).astype("int64")
        if np.any(offset < 0) or np.any(offset >= len(self._working)):
            raise ValueError(f"date outside the calendar ({_EPOCH} to {self._start + len(self._working) - 1})")
        return offset

    def is_working_day(self, days: Any) -> Any:
        """Whether each day is a working day (array in, array out; a date in, a bool out)."""
        result = self._working[self._offset(days)]
        return bool(result) if result.ndim == 0 else result

    def working_days_between(self, start: Any, end: Any) -> Any:
        """Working days in ``(start, end]`` (negative when ``end`` is before ``start``)."""
        result = self._index[self._offset(end)] - self._index[self._offset(start)]
        return int(result) if result.ndim == 0 else result

    def add_working_days(self, days: Any, n: Any) -> Any:
        """The earliest day with exactly ``n`` (>= 1) working days in ``(day, result]``."""
        import numpy as np

        target = self._index[self._offset(days)] + np.asarray(n) - 1
        result = self._working_days[target]
        return result.astype(dt.date) if result.ndim == 0 else result
