"""``python -m devkit``: the demo, the department simulators and the stack with them.

Run like ``hub`` (:func:`hub.cli.main`): stdout carries a command's result only, a user's mistake
is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from hub import cli as hub_cli
from hub.cli_args import Parser, UsageError, add_actions, positive_int
from hub.cli_output import echo, to_result
from hub.ops.cli import add_up_arguments, run_up
from hub.ops.progress import activity

PROG = "python -m devkit"
SEED_HELP = "random seed: the same seed gives the same city"


def _simulate(args: argparse.Namespace) -> int:
    from devkit import simulate

    if args.action == "down":
        stopped = simulate.down()
        echo("stopped: " + (", ".join(stopped) if stopped else "no simulator server was running"))
        return 0
    if args.action == "up":
        with activity(f"provisioning the five department simulators for {args.scale:,} persons"):
            env = simulate.up(args.scale, args.seed)
        echo("simulators up; their connections (also in $HUB_HOME/run/simulators.env): " + ", ".join(sorted(env)))
        return 0
    if args.action == "provision":
        created = simulate.provision_once(args.admin_uri, args.inbox, args.scale, args.seed)
        echo("department simulators " + ("ready: " + ", ".join(created) if created else "already provisioned; kept"))
        return 0
    from hub.store import embedded
    from simulators.ga import population

    admin = embedded.start()
    uri = embedded.ensure_database(admin, population.DATABASE)
    if args.action == "generate":
        with activity(f"generating {args.scale:,} persons at the 公安 simulator"):
            manifest = population.create(uri, args.scale, args.seed)
        echo(
            f"{population.TABLE}: {args.scale:,} persons in database {population.DATABASE}; dirt: "
            + ", ".join(f"{k} {len(v)}" for k, v in manifest.rows.items())
        )
    else:
        change = population.apply_day(uri, args.day, args.seed)
        echo(
            f"{population.TABLE} day {change.day}: births {change.births}, deaths {change.deaths}, "
            f"moves {change.moves}, corrections {change.corrections}"
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from devkit.demo import DemoRefused, print_json, run_demo
    from devkit.demo_render import render

    try:
        report = run_demo(scale=args.scale, seed=args.seed)
    except DemoRefused as exc:
        raise UsageError(str(exc)) from None
    with to_result():
        if args.json:
            print_json(report)
        else:
            render(report)
    return 0 if all(r["balanced"] for r in report.runs) else 1


def _simulators(home: Path, admin_uri: str) -> Mapping[str, str]:
    """The stack's sources: every simulator (``$HUB_SIM_SCALE`` persons) on the stack's embedded server."""
    from devkit import simulate

    scale = int(os.environ.get("HUB_SIM_SCALE", simulate.DEFAULT_SCALE))
    return simulate.up(scale, home=home, admin_uri=admin_uri)


def _up(args: argparse.Namespace) -> int:
    return run_up(args, sources=_simulators)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m devkit``."""
    parser = Parser(prog=PROG, description="ShareHub's demo and department simulators (not the product)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands", help="what to do")

    demo = sub.add_parser("demo", help="run the main job end to end on the embedded store")
    demo.add_argument("--scale", type=positive_int, default=5000, help="persons in the demo city (default 5000)")
    demo.add_argument("--seed", type=int, default=640100, help=SEED_HELP)
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.set_defaults(func=_demo)

    sim = sub.add_parser("simulate", help="department simulators")
    sim.set_defaults(func=_simulate)
    acts = add_actions(sim, "what to do with the simulators")
    for name, text in (
        ("up", "provision the five department simulators and serve them"),
        ("generate", "(re)generate the 公安 population simulator"),
    ):
        p = acts.add_parser(name, help=text)
        p.add_argument("--scale", type=positive_int, default=5000, help="persons to generate (default 5000)")
        p.add_argument("--seed", type=int, default=640100, help=SEED_HELP)
    acts.add_parser("down", help=f"stop the simulator servers `{PROG} simulate up` started")
    day = acts.add_parser("day", help="apply one day of changes at the 公安 simulator")
    day.add_argument("--day", type=positive_int, default=1, help="which day of changes to apply (default 1)")
    day.add_argument("--seed", type=int, default=640100, help=SEED_HELP)
    prov = acts.add_parser(
        "provision", help="create every department simulator on a PostgreSQL server once (compose sim-init)"
    )
    prov.add_argument("--admin-uri", required=True, help="libpq URI of the simulators' server (may create databases)")
    prov.add_argument("--inbox", type=Path, required=True, help="the 医保 file-drop inbox directory")
    prov.add_argument(
        "--scale", type=positive_int, default=int(os.environ.get("HUB_SIM_SCALE", 5000)), help="persons to generate"
    )
    prov.add_argument("--seed", type=int, default=640100, help=SEED_HELP)

    upp = sub.add_parser("up", help="`hub up` with the department simulators as its sources")
    add_up_arguments(upp)
    upp.set_defaults(func=_up)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m devkit`` (run as :func:`hub.cli.main` runs ``hub``).

    Returns:
        The exit status.
    """
    return hub_cli.main(argv, build_parser())
