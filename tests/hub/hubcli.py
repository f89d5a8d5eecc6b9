"""Running ``hub`` as a real process, the way an operator (or ``psql "$(hub store url)"``) does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import connection_env

REPO = Path(__file__).resolve().parents[2]


def hub_env(**changes: str | None) -> dict[str, str]:
    """This process's environment with ``changes`` (``None`` removes a variable) and the repo importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_hub(args: list[str], env: Mapping[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m hub.cli ARGS`` in ``env``; stdout and stderr captured apart."""
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env=dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def store_env(uri: str, **changes: str | None) -> dict[str, str]:
    """:func:`hub_env` with ``uri`` as the ``hub_store`` connection."""
    return hub_env(AIRFLOW_CONN_HUB_STORE=connection_env(uri), **changes)
