"""``hub calendar …`` and ``hub efficiency …``: the working-day calendar and the indicators."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from hub.cli_args import UsageError, add_actions, add_json, existing_file, iso_date, mistakes
from hub.cli_output import echo
from hub.store.connection import connect


def register(sub: Any) -> None:
    """Add the ``calendar`` and ``efficiency`` subcommands to the ``hub`` parser's subparsers."""
    cal = sub.add_parser("calendar", help="the working-day calendar (holidays, 调休 make-up working days)")
    cal.set_defaults(func=calendar_command)
    acts = add_actions(cal, "what to do with the calendar")
    lst = acts.add_parser("list", help="the stored holidays and make-up working days")
    lst.add_argument("--year", type=int, help="only this year")
    add_json(lst, "the days")
    add = acts.add_parser("add", help="add or change one day")
    add.add_argument("--date", type=iso_date, required=True, help="the day (YYYY-MM-DD)")
    add.add_argument("--kind", choices=["holiday", "makeup_workday"], required=True, help="what the day is")
    add.add_argument("--name", required=True, help="e.g. 春节 or 春节调休上班")
    load = acts.add_parser("load", help="add or change the days of a CSV file")
    load.add_argument(
        "--file", type=existing_file, required=True, help="a CSV date,kind,name (like hub/efficiency/calendar/*.csv)"
    )

    eff = sub.add_parser("efficiency", help="efficiency supervision (效能监管) indicators")
    eff.set_defaults(func=efficiency_command)
    acts = add_actions(eff, "what to do with the indicators")
    rep = acts.add_parser("report", help="one day's indicators per department and for the city")
    rep.add_argument("--date", type=iso_date, help="the stat date (YYYY-MM-DD; default the latest computed)")
    add_json(rep, "the report")
    rec = acts.add_parser("recompute", help="recompute the indicators for the days changed cases touch")
    rec.add_argument("--date", type=iso_date, help="compute as of this day (YYYY-MM-DD; default yesterday)")
    rec.add_argument("--full", action="store_true", help="every day, from scratch")
    add_json(rec, "what was recomputed")
    fol = acts.add_parser("followup", help="record that a 差评 (bad review) was followed up")
    fol.add_argument("--case", required=True, help="the case number of the 差评")
    fol.add_argument("--date", type=iso_date, help="the day of the follow-up (YYYY-MM-DD; default today)")


@mistakes(UnicodeDecodeError, PermissionError)
def calendar_command(args: argparse.Namespace) -> int:
    """``hub calendar list|add|load``."""
    from hub.efficiency import calendar

    with connect() as conn:
        calendar.sync_package(conn)
        try:
            if args.action == "add":
                changed = calendar.add(conn, [calendar.CalendarEntry(args.date, args.kind, args.name)])
                echo(f"{args.date} {args.kind} {args.name}: {'added' if changed else 'already there'}")
            elif args.action == "load":
                echo(f"{args.file}: {calendar.load_file(conn, args.file)} entries added or changed")
            else:
                rows = calendar.stored_entries(conn, args.year)
                if args.json:
                    echo(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
                for r in [] if args.json else rows:
                    echo(f"{r['day']} {r['day']:%a} {r['kind']:<15} {r['name']} ({r['origin']})")
        except calendar.CalendarError as exc:
            raise UsageError(str(exc)) from None
    return 0


def efficiency_command(args: argparse.Namespace) -> int:
    """``hub efficiency report|recompute|followup``."""
    from hub.store.connection import store_uri

    uri = store_uri()
    if args.action == "recompute":
        from hub.efficiency.compute import recompute
        from hub.efficiency.dag import as_of_date

        result = recompute(uri, args.date or as_of_date(dt.datetime.now(dt.UTC)), full=args.full)
        echo(json.dumps(result.to_json(), ensure_ascii=False) if args.json else _describe(result.to_json()))
        return 0
    if args.action == "followup":
        return _followup(uri, args.case, args.date or dt.date.today())
    from hub.efficiency.report import day_report

    report = day_report(uri, args.date)
    if args.json:
        echo(json.dumps(report, ensure_ascii=False, default=str, indent=2))
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


def _followup(uri: str, case_no: str, day: dt.date) -> int:
    with connect(uri) as conn:
        if conn.execute("SELECT 1 FROM shared.service_bad_review WHERE case_no = %s", (case_no,)).fetchone() is None:
            raise UsageError(f"case {case_no} has no 差评 (bad review) in shared.service_bad_review; check the number")
        conn.execute(
            "INSERT INTO hub.bad_review_followup (case_no, followed_up_on) VALUES (%s, %s) "
            "ON CONFLICT (case_no) DO UPDATE SET followed_up_on = excluded.followed_up_on, recorded_at = now()",
            (case_no, day),
        )
    echo(f"case {case_no}: followed up on {day}; counted at the next recompute")
    return 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _render(report: dict) -> None:
    echo(f"效能监管 {report['date']} (computed as of {report['as_of']})")
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
    echo(f"{'department':<28} " + " ".join(f"{t:>{w}}" for t, w in titles))
    for row in [*report["departments"], {**report["city"], "dept_name": "全市 city"}]:
        echo(
            f"{row['dept_name'][:28]:<28} {row['received']:>5} {row['completed']:>5} {_pct(row['on_time_rate']):>7} "
            f"{row['overdue_open']:>5} {_pct(row['online_rate']):>7} {row['evaluations']:>5} "
            f"{_pct(row['satisfaction_rate']):>7} {row['bad_reviews_overdue']:>5}"
        )
    br = report["bad_reviews"]
    echo(f"差评: {br['total']} in all, {br['open']} without follow-up, {br['open_overdue']} of them past due")
