"""``hub airflow …``: the ``airflow`` command pointed at the stack ``hub up`` started.

``hub up`` writes the environment its Airflow processes run with (metadata database, secrets,
connections) to ``$HUB_HOME/run/airflow.env`` (mode 0600: it holds secrets), as ``export``
lines a shell can ``source``. ``hub airflow ARGS…`` runs ``airflow ARGS…`` with it, so
``hub airflow dags trigger ingest_ga_population`` talks to the stack's metadata database
rather than falling back to a SQLite file in ``~/airflow``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from hub.cli_args import UsageError
from hub.settings import hub_home

ENV_FILE = "airflow.env"
STACK_PREFIXES = ("AIRFLOW_", "AIRFLOW__", "HUB_", "OPENLINEAGE_")


def env_file(home: Path | None = None) -> Path:
    """``$HUB_HOME/run/airflow.env``."""
    return (home or hub_home()).resolve() / "run" / ENV_FILE


def write_env_file(env: Mapping[str, str], home: Path) -> Path:
    """Write the stack's Airflow and hub variables of ``env`` as ``export`` lines (mode 0600)."""
    path = env_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"export {k}={shlex.quote(v)}\n" for k, v in sorted(env.items()) if k.startswith(STACK_PREFIXES)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(lines)
    return path


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of an env file written by :func:`write_env_file`."""
    env = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            env[key] = value
    return env


def _airflow(args: argparse.Namespace) -> int:
    path = env_file()
    if not path.exists():
        raise UsageError(f"no stack is up at {path.parent.parent}: run `hub up` first")
    env = {**os.environ, **read_env_file(path)}
    airflow = str(Path(sys.executable).parent / "airflow")
    os.execve(airflow, [airflow, *args.airflow_args], env)
    return 0  # not reached


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``hub airflow``."""
    parser = sub.add_parser(
        "airflow",
        help="run the airflow CLI against the stack `hub up` started (e.g. hub airflow dags list)",
        description="Runs `airflow ARGS...` with the environment of the stack in $HUB_HOME/run/airflow.env.",
    )
    parser.add_argument("airflow_args", nargs=argparse.REMAINDER, help="arguments for the airflow command")
    parser.set_defaults(func=_airflow, inherit_stdout=True)
