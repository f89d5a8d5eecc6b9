"""Reading the indicators back: a day's city-wide and per-department figures, and a summary for ``hub status``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg.rows import dict_row

from hub.store.connection import connect

_SUMS = (
    "received",
    "accepted",
    "completed",
    "completed_with_promise",
    "completed_on_time",
    "overdue_open",
    "overdue_working_days",
    "completed_online",
    "eval_5",
    "eval_4",
    "eval_3",
    "eval_2",
    "eval_1",
    "evaluations",
    "bad_reviews",
    "bad_reviews_overdue",
)
_SELECT = ", ".join(f"coalesce(sum({c}), 0)::bigint AS {c}" for c in _SUMS)


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    def rate(num: int, den: int) -> float | None:
        return None if not den else round(num / den, 4)

    return {
        **row,
        "on_time_rate": rate(row["completed_on_time"], row["completed_with_promise"]),
        "online_rate": rate(row["completed_online"], row["completed"]),
        "satisfaction_rate": rate(row["eval_4"] + row["eval_5"], row["evaluations"]),
    }


def state(uri: str) -> dict[str, Any] | None:
    """The last computation (``as_of``, ``computed_at``, what it did), or None before the first."""
    with connect(uri, row_factory=dict_row) as conn:
        row = conn.execute("SELECT as_of, computed_at, last_run FROM hub.efficiency_state").fetchone()
    return row


def day_report(uri: str, day: dt.date | None = None) -> dict[str, Any]:
    """The indicators of one stat date (default: the last computed), city-wide and per department.

    Rates are recomputed from the summed counts (a rate of rates would weigh a small item like a big one).
    """
    st = state(uri)
    day = day or (st["as_of"] if st else dt.date.today())
    with connect(uri, row_factory=dict_row) as conn:
        city = conn.execute(f"SELECT {_SELECT} FROM shared.service_efficiency WHERE stat_date = %s", (day,)).fetchone()
        depts = conn.execute(
            f"SELECT dept_code, max(dept_name) AS dept_name, {_SELECT} FROM shared.service_efficiency "
            "WHERE stat_date = %s GROUP BY dept_code ORDER BY dept_code",
            (day,),
        ).fetchall()
        open_reviews = conn.execute(
            "SELECT count(*) FILTER (WHERE followed_up_on IS NULL) AS open, "
            "count(*) FILTER (WHERE followup_overdue AND followed_up_on IS NULL) AS open_overdue, "
            "count(*) FILTER (WHERE followup_overdue) AS overdue_total, count(*) AS total "
            "FROM shared.service_bad_review"
        ).fetchone()
    return {
        "date": day.isoformat(),
        "as_of": st["as_of"].isoformat() if st else None,
        "city": _rates(city),
        "departments": [_rates(d) for d in depts],
        "bad_reviews": open_reviews,
    }


def efficiency_summary(uri: str) -> dict[str, Any]:
    """A compact summary for ``hub status``: last computation and the last day's city-wide figures.

    Returns:
        ``{"computed": bool, "as_of", "computed_at", "last_run", "city": {...}, "bad_reviews": {...}}``.
    """
    st = state(uri)
    if st is None:
        return {"computed": False}
    report = day_report(uri, st["as_of"])
    city = report["city"]
    keep = (
        "received",
        "completed",
        "on_time_rate",
        "overdue_open",
        "online_rate",
        "evaluations",
        "satisfaction_rate",
        "bad_reviews_overdue",
    )
    return {
        "computed": True,
        "as_of": report["as_of"],
        "computed_at": st["computed_at"].isoformat(),
        "last_run": st["last_run"],
        "city": {k: city[k] for k in keep},
        "bad_reviews": report["bad_reviews"],
    }
