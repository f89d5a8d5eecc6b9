"""The ``hub`` command line: the commands every feature package registers (its ``cli`` module's ``register``).

The demo and the simulators are not the product's: ``python -m devkit`` (:mod:`devkit.cli`) runs them.

stdout carries a command's result only (see :mod:`hub.cli_output`); every user mistake is one
line on stderr and exit status 2 (see :mod:`hub.cli_args`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from connectors.connections import ConnectionNotDefinedError
from hub import quality_cli
from hub.access import cli as access_cli
from hub.cli_args import USAGE_EXIT, Parser, UsageError
from hub.cli_output import reserved_stdout
from hub.efficiency import cli as efficiency_cli
from hub.ops import cli as ops_cli
from hub.push import cli as push_cli
from hub.store import cli as store_cli

COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    store_cli.register,  # store, ledger
    efficiency_cli.register,  # calendar, efficiency
    access_cli.register,  # catalog, access, audit, objections, api
    push_cli.register,  # push
    quality_cli.register,  # quarantine, quality
    ops_cli.register,  # up, down, airflow, status
)
"""Each feature package's ``register(subparsers)``, in the order ``hub --help`` lists the commands."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hub``: every feature package's commands (:data:`COMMANDS`)."""
    parser = Parser(prog="hub", description="ShareHub, the city's data-sharing hub")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands", help="what to do")
    for register in COMMANDS:
        register(sub)
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
