"""The ``hub quarantine`` and ``hub quality`` commands: quarantined rows and their replay, the quality views."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from hub import registry
from hub.cli_args import UsageError, add_actions, add_json, positive_int, source_name, source_names
from hub.cli_output import echo
from hub.settings import hub_home
from hub.store.connection import store_uri
from quality import report


def _quarantine(args: argparse.Namespace) -> int:
    from hub import replay  # at call time: pyarrow and psycopg, +0.6 s CPU on every `hub` start

    uri = store_uri()
    if args.action == "list":
        rows = replay.list_rows(
            uri,
            source=args.source,
            status=None if args.status == "all" else args.status,
            rule=args.rule,
            limit=args.limit or 50,
        )
        if args.json:
            echo(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2))
        for r in [] if args.json else rows:
            echo(f"{r.id} {r.source} {r.status} {r.rule} [{r.field or ''}] {r.batch_id} {r.message}")
        return 0
    if args.action == "show":
        row = replay.show(uri, args.id)
        if row is None:
            raise UsageError(f"no quarantine record {args.id}; `hub quarantine list` shows the ids")
        echo(json.dumps(asdict(row), ensure_ascii=False, indent=2))
        return 0
    sources = [registry.get(args.source)] if args.source else list(registry.SOURCES)
    results = []
    outcomes = replay.replay_all(sources, store=uri, limit=args.limit)
    for outcome in outcomes:
        entry = outcome.entry
        results.append({"source": outcome.source, "batch": entry.to_json() if entry else None, "error": outcome.error})
        if outcome.error:
            print(f"{outcome.source}: replay failed: {outcome.error}", file=sys.stderr)
        elif not args.json:
            echo(
                f"{outcome.source}: nothing pending"
                if entry is None
                else f"{outcome.source}: {entry.batch_id} replayed={entry.extracted} "
                f"released={entry.inserted + entry.updated + entry.unchanged} still_quarantined={entry.quarantined}"
            )
    if args.json:
        echo(json.dumps(results, ensure_ascii=False, indent=2))
    return 1 if any(o.error for o in outcomes) else 0


def _quality(args: argparse.Namespace) -> int:
    uri = store_uri()
    if args.action == "check":
        # at call time, as below: psycopg and the GX suites, +0.3 s CPU each on every `hub` start
        from quality.findings import run_checks
        from quality.gx_suites import run

        check = run_checks(uri)
        result = run(uri, home=hub_home())
        echo(f"findings: {check.total} open, {check.resolved} resolved; data docs: {result.docs_index}")
        for s in result.suites:
            echo(f"  {s.table}: {'ok' if s.success else 'FAILED ' + ', '.join(s.failed)}")
        return 0 if result.success else 1
    data = report.build(uri, runs=args.runs)
    if args.html:
        from quality import report_html  # only --html: importlib.resources and tempfile, +0.03 s CPU per start
        from quality.gx_suites import docs_dir

        echo(report_html.write(data, docs_dir(hub_home())))
        return 0
    echo(json.dumps(data, ensure_ascii=False, indent=2, default=str) if args.json else report.render_text(data))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``hub quarantine`` and ``hub quality`` and their actions to the ``hub`` parser's subcommands."""
    qua = sub.add_parser("quarantine", help="list, show and replay quarantined rows")
    qua.set_defaults(func=_quarantine)
    acts = add_actions(qua, "what to do with the quarantine")
    source_help = "only this source: " + ", ".join(source_names())
    lst = acts.add_parser("list", help="quarantined rows, newest first")
    lst.add_argument("--source", type=source_name(), help=source_help)
    lst.add_argument("--rule", help="only rows that broke this rule")
    lst.add_argument(
        "--status",
        default="pending",
        choices=["pending", "released", "superseded", "all"],
        help="only rows in this state (default pending)",
    )
    lst.add_argument("--limit", type=positive_int, help="at most this many records (default 50)")
    add_json(lst, "the rows")
    show = acts.add_parser("show", help="one quarantined row with its raw source record")
    show.add_argument("--id", type=positive_int, required=True, help="the record id (from `hub quarantine list`)")
    rep = acts.add_parser("replay", help="re-validate pending rows under today's rules and load those that pass")
    rep.add_argument("--source", type=source_name(), help=source_help + " (default all)")
    rep.add_argument("--limit", type=positive_int, help="at most this many rows per source (default all pending)")
    add_json(rep, "one object per source")

    qual = sub.add_parser("quality", help="quality report, findings and GX checkpoint")
    qual.set_defaults(func=_quality)
    acts = add_actions(qual, "which quality view")
    rep = acts.add_parser("report", help="rule failures and quarantine over recent runs")
    rep.add_argument("--runs", type=positive_int, default=20, help="recent runs in the report (default 20)")
    shown = rep.add_mutually_exclusive_group()
    add_json(shown, "the report")
    shown.add_argument(
        "--html", action="store_true", help="write the page with its charts beside the Data Docs and print its path"
    )
    acts.add_parser("check", help="run the cross-department checks and the GX checkpoint (exit 1 on failure)")
