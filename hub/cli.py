"""The ``hub`` command line: store, ledger, push, quarantine, quality, the stack and its status.

The demo and the simulators are not the product's: ``python -m devkit`` (:mod:`devkit.cli`) runs them.

stdout carries a command's result only (see :mod:`hub.cli_output`); every user mistake is one
line on stderr and exit status 2 (see :mod:`hub.cli_args`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hub.cli_args import (
    USAGE_EXIT,
    Parser,
    UsageError,
    add_actions,
    add_json,
    positive_int,
    source_name,
    source_names,
)
from hub.cli_output import echo, reserved_stdout, to_result

if TYPE_CHECKING:
    from hub.ops.stack import Sources


def _ledger(args: argparse.Namespace) -> int:
    from hub.store import ledger
    from hub.store.connection import store_uri

    entries = ledger.entries(store_uri(), source=args.source, limit=args.limit)
    if args.json:
        echo(json.dumps([e.to_json() for e in entries], ensure_ascii=False, indent=2))
        return 0
    for e in entries:
        echo(
            f"{e.finished_at:%Y-%m-%d %H:%M:%S} {e.batch_id} {e.status} "
            + " ".join(f"{k}={v}" for k, v in e.counts().items())
            + ("" if e.balanced else " UNBALANCED")
        )
    return 0


def _push(args: argparse.Namespace) -> int:
    from hub.push.outbox import outbox_counts, retry_parked
    from hub.store.connection import store_uri

    if args.action == "retry":
        signer = None
        if args.resign:
            from hub.push.signer import signer_from_connection

            signer = signer_from_connection()
        n = retry_parked(store_uri(), kind=args.kind, code=args.code, resign=signer)
        echo(f"re-queued {n} parked record(s); the next push_provincial run sends them")
        return 0
    counts = outbox_counts(store_uri())
    if args.json:
        echo(json.dumps(counts, indent=2))
        return 0
    statuses = ("pending", "delivered", "parked")
    echo(f"{'kind':<14}" + "".join(f"{s:>11}" for s in statuses))
    for kind, by_status in counts.items():
        echo(f"{kind:<14}" + "".join(f"{by_status.get(s, 0):>11,}" for s in statuses))
    parked = sum(c.get("parked", 0) for c in counts.values())
    if parked:
        echo(f"{parked:,} parked: fix the cause, then `hub push retry`")
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from hub import replay
    from hub.store.connection import store_uri

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
    from hub import registry

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
    from hub.store.connection import store_uri
    from quality import report

    uri = store_uri()
    if args.action == "check":
        from hub.settings import hub_home
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
        from hub.settings import hub_home
        from quality import report_html
        from quality.gx_suites import docs_dir

        echo(report_html.write(data, docs_dir(hub_home())))
        return 0
    echo(json.dumps(data, ensure_ascii=False, indent=2, default=str) if args.json else report.render_text(data))
    return 0


def _up(args: argparse.Namespace) -> int:
    return run_up(args)


def run_up(args: argparse.Namespace, sources: Sources | None = None) -> int:
    """``hub up`` with the options of :func:`add_up_arguments`; ``sources`` as :func:`hub.ops.stack.up` takes it."""
    from hub.ops.stack import StackError, up

    try:
        info = up(timeout=args.timeout, executor=args.executor, sources=sources)
    except StackError as exc:
        print(f"hub up: {exc}", file=sys.stderr)
        return 1
    echo(json.dumps(info.to_json(), indent=2))
    return 0


def _down(args: argparse.Namespace) -> int:
    from hub.ops.stack import down

    stopped = down()
    echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def _status(args: argparse.Namespace) -> int:
    from hub.ops.status import collect
    from hub.ops.status_view import render

    report = collect()
    with to_result():
        if args.json:
            print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        else:
            render(report)
    return 0


def add_up_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``hub up`` (``python -m devkit up`` takes the same)."""
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for Airflow and the DAGs")
    parser.add_argument(
        "--executor",
        choices=["local", "celery"],
        default="local",
        help="local: LocalExecutor; celery: a Redis broker and two Celery workers, as compose deploys",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hub``."""
    parser = Parser(prog="hub", description="ShareHub, the city's data-sharing hub")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands", help="what to do")

    from hub.store.cli import add_parsers as add_store_parsers

    add_store_parsers(sub)

    led = sub.add_parser("ledger", help="recent batches and their counts")
    led.add_argument("--source", type=source_name(), help="only this source: " + ", ".join(source_names()))
    led.add_argument("--limit", type=positive_int, default=20, help="at most this many batches (default 20)")
    add_json(led, "the batches")
    led.set_defaults(func=_ledger)

    from hub.efficiency.cli import add_parsers as add_efficiency_parsers

    add_efficiency_parsers(sub)

    from hub.access.cli import add_parsers as add_access_parsers

    add_access_parsers(sub)

    push = sub.add_parser("push", help="the outbox to the provincial platform")
    push.set_defaults(func=_push)
    acts = add_actions(push, "what to do with the outbox")
    retry = acts.add_parser("retry", help="re-queue parked (REJECTED) records once their cause is fixed")
    retry.add_argument("--kind", choices=["certificates", "cases"], help="only this kind of record")
    retry.add_argument("--code", help="only records parked with this code, e.g. BAD_SIGNATURE")
    retry.add_argument("--resign", action="store_true", help="sign certificates again with certificate_signer")
    add_json(acts.add_parser("status", help="records per kind: pending, delivered, parked"), "the counts")

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
    report = acts.add_parser("report", help="rule failures and quarantine over recent runs")
    report.add_argument("--runs", type=positive_int, default=20, help="recent runs in the report (default 20)")
    shown = report.add_mutually_exclusive_group()
    add_json(shown, "the report")
    shown.add_argument(
        "--html", action="store_true", help="write the page with its charts beside the Data Docs and print its path"
    )
    acts.add_parser("check", help="run the cross-department checks and the GX checkpoint (exit 1 on failure)")

    upp = sub.add_parser("up", help="start the whole stack on this machine (store, Airflow, API)")
    add_up_arguments(upp)
    upp.set_defaults(func=_up)
    sub.add_parser("down", help="stop everything `hub up` started").set_defaults(func=_down)

    from hub.ops.airflow_cli import add_parsers as add_airflow_parsers

    add_airflow_parsers(sub)

    stat = sub.add_parser("status", help="every source's last run, freshness, quarantine, backlog")
    add_json(stat, "the report")
    stat.set_defaults(func=_status)
    return parser


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _command_name(prog: str, args: argparse.Namespace) -> str:
    return " ".join([prog, args.command] + ([args.action] if getattr(args, "action", None) else []))


def main(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    """Entry point of ``hub``: parse, run the command with stdout reserved for its result.

    A command may set ``inherit_stdout=True`` in its defaults when it hands the terminal to a
    child process (e.g. ``psql``); stdout is then left as it is.

    Args:
        argv: The arguments (default: the process's).
        parser: Another command line run the same way (``python -m devkit``); ``hub``'s by default.

    Returns:
        The exit status: 0 on success, 2 for a user's mistake (one line on stderr), else the
        command's own status.
    """
    from connectors.connections import ConnectionNotDefinedError

    parser = parser or build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(_one_line(str(exc)), file=sys.stderr)
        return USAGE_EXIT
    func: Callable[[argparse.Namespace], int] = args.func
    with reserved_stdout(inherit=getattr(args, "inherit_stdout", False)):
        try:
            return func(args)
        except (UsageError, ConnectionNotDefinedError) as exc:
            print(f"{_command_name(parser.prog, args)}: {_one_line(str(exc))}", file=sys.stderr)
            return USAGE_EXIT
        except KeyboardInterrupt:
            return 130
        except Exception as exc:
            if not _unreachable_store(exc):
                raise
            print(
                f"{_command_name(parser.prog, args)}: cannot reach the store ({_one_line(str(exc))}); "
                "check the hub_store connection (AIRFLOW_CONN_HUB_STORE) or `hub store status`",
                file=sys.stderr,
            )
            return 1


def _unreachable_store(exc: Exception) -> bool:
    """Whether ``exc`` is psycopg failing to connect (psycopg is not imported just to ask)."""
    psycopg = sys.modules.get("psycopg")
    failed = psycopg is not None and isinstance(exc, psycopg.OperationalError)
    return failed and str(exc).startswith("connection failed")


if __name__ == "__main__":
    sys.exit(main())
