"""``hub calendar …`` and ``hub efficiency …``: the working-day calendar and the indicators."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any


def add_parsers(sub: Any) -> None:
    """Add the ``calendar`` and ``efficiency`` subcommands to the ``hub`` parser's subparsers."""
    cal = sub.add_parser("calendar", help="the working-day calendar (holidays, 调休 make-up working days)")
    cal.add_argument("action", choices=["list", "add", "load"])
    cal.add_argument("--year", type=int, help="list: only this year")
    cal.add_argument("--date", type=dt.date.fromisoformat, help="add: the day (YYYY-MM-DD)")
    cal.add_argument("--kind", choices=["holiday", "makeup_workday"], help="add: what the day is")
    cal.add_argument("--name", help="add: e.g. 春节 or 春节调休上班")
    cal.add_argument("--file", type=Path, help="load: a CSV date,kind,name (like hub/efficiency/calendar/*.csv)")
    cal.add_argument("--json", action="store_true")
    cal.set_defaults(func=calendar_command)

    eff = sub.add_parser("efficiency", help="efficiency supervision (效能监管) indicators")
    eff.add_argument("action", choices=["report", "recompute", "followup"])
    eff.add_argument("--date", type=dt.date.fromisoformat, help="report: stat date; recompute: as-of; followup: day")
    eff.add_argument("--full", action="store_true", help="recompute: every day, from scratch")
    eff.add_argument("--case", help="followup: the case number of the 差评")
    eff.add_argument("--json", action="store_true")
    eff.set_defaults(func=efficiency_command)


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def calendar_command(args: argparse.Namespace) -> int:
    """``hub calendar list|add|load``."""
    import psycopg

    from hub.efficiency import calendar
    from hub.store.connection import store_uri

    with psycopg.connect(store_uri()) as conn:
        calendar.sync_package(conn)
        try:
            if args.action == "add":
                if not (args.date and args.kind and args.name):
                    return _fail("hub calendar add needs --date, --kind and --name")
                changed = calendar.add(conn, [calendar.CalendarEntry(args.date, args.kind, args.name)])
                print(f"{args.date} {args.kind} {args.name}: {'added' if changed else 'already there'}")
            elif args.action == "load":
                if not args.file:
                    return _fail("hub calendar load needs --file")
                print(f"{args.file}: {calendar.load_file(conn, args.file)} entries added or changed")
            else:
                rows = calendar.stored_entries(conn, args.year)
                if args.json:
                    print(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
                for r in [] if args.json else rows:
                    print(f"{r['day']} {r['day']:%a} {r['kind']:<15} {r['name']} ({r['origin']})")
        except calendar.CalendarError as exc:
            return _fail(str(exc))
    return 0


def efficiency_command(args: argparse.Namespace) -> int:
    """``hub efficiency report|recompute|followup``."""
    from hub.store.connection import store_uri

    uri = store_uri()
    if args.action == "recompute":
        from hub.efficiency.compute import recompute
        from hub.efficiency.dag import as_of_date

        result = recompute(uri, args.date or as_of_date(dt.datetime.now(dt.UTC)), full=args.full)
        print(json.dumps(result.to_json(), ensure_ascii=False) if args.json else _describe(result.to_json()))
        return 0
    if args.action == "followup":
        return _followup(uri, args.case, args.date or dt.date.today())
    from hub.efficiency.report import day_report

    report = day_report(uri, args.date)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str, indent=2))
    else:
        _render(report)
    return 0


def _describe(run: dict) -> str:
    days = run["affected_days"]
    span = f"{days[0]}..{days[-1]}" if days else "none"
    return (
        f"as of {run['as_of']}: {'full' if run['full'] else 'incremental'}, {run['changed_cases']} cases changed, "
        f"{len(days)} days rewritten ({span}), {run['rows_written']} rows"
    )


def _followup(uri: str, case_no: str | None, day: dt.date) -> int:
    import psycopg

    if not case_no:
        return _fail("hub efficiency followup needs --case")
    with psycopg.connect(uri) as conn:
        if conn.execute("SELECT 1 FROM shared.service_bad_review WHERE case_no = %s", (case_no,)).fetchone() is None:
            return _fail(f"case {case_no} has no 差评 in shared.service_bad_review")
        conn.execute(
            "INSERT INTO hub.bad_review_followup (case_no, followed_up_on) VALUES (%s, %s) "
            "ON CONFLICT (case_no) DO UPDATE SET followed_up_on = excluded.followed_up_on, recorded_at = now()",
            (case_no, day),
        )
    print(f"case {case_no}: followed up on {day}; counted at the next recompute")
    return 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _render(report: dict) -> None:
    print(f"效能监管 {report['date']} (computed as of {report['as_of']})")
    titles = (
        ("收件", 5),
        ("办结", 5),
        ("按时率", 7),
        ("超期", 5),
        ("网办率", 7),
        ("评价", 5),
        ("满意率", 7),
        ("差评超期", 5),
    )
    print(f"{'department':<28} " + " ".join(f"{t:>{w}}" for t, w in titles))
    for row in [*report["departments"], {**report["city"], "dept_name": "全市 city"}]:
        print(
            f"{row['dept_name'][:28]:<28} {row['received']:>5} {row['completed']:>5} {_pct(row['on_time_rate']):>7} "
            f"{row['overdue_open']:>5} {_pct(row['online_rate']):>7} {row['evaluations']:>5} "
            f"{_pct(row['satisfaction_rate']):>7} {row['bad_reviews_overdue']:>5}"
        )
    br = report["bad_reviews"]
    print(f"差评: {br['total']} in all, {br['open']} without follow-up, {br['open_overdue']} of them past due")
