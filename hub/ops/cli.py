"""The operations commands: ``hub up``, ``hub down``, ``hub airflow`` and ``hub status``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from hub.cli_args import add_json
from hub.cli_output import echo, to_result
from hub.ops import airflow_cli

if TYPE_CHECKING:
    from hub.ops.stack import Sources


def _up(args: argparse.Namespace) -> int:
    return run_up(args)


def run_up(args: argparse.Namespace, sources: Sources | None = None) -> int:
    """``hub up`` with the options of :func:`add_up_arguments`; ``sources`` as :func:`hub.ops.stack.up` takes it."""
    from hub.ops.stack import StackError, up  # at call time, as the other handlers' work (see register)

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
    from hub.ops.status import collect  # at call time: psycopg, +0.21 s CPU on every `hub` start
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


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``hub up``, ``hub down``, ``hub airflow`` and ``hub status`` to the ``hub`` parser's subcommands.

    The handlers import the stack and the status report when they run: every ``hub`` command
    builds the whole parser, and those modules cost 0.05-0.2 s CPU each to import.
    """
    upp = sub.add_parser("up", help="start the whole stack on this machine (store, Airflow, API)")
    add_up_arguments(upp)
    upp.set_defaults(func=_up)
    sub.add_parser("down", help="stop everything `hub up` started").set_defaults(func=_down)
    airflow_cli.register(sub)
    stat = sub.add_parser("status", help="every source's last run, freshness, quarantine, backlog")
    add_json(stat, "the report")
    stat.set_defaults(func=_status)
