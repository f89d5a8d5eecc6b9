"""``hub simulate up|down``: the five department simulators of one city on this machine.

``up`` provisions every simulator of :data:`simulators.demo_city.SIMULATORS` and the provincial
platform (:data:`~simulators.demo_city.PROVINCE`, with the city's SM2 signing key) for a city of
``scale`` persons (databases on the embedded server, the 医保 inbox), starts the server
simulators (人社) by pid file under ``$HUB_HOME/run``, and writes the ``AIRFLOW_CONN_*`` values
to ``$HUB_HOME/run/simulators.env`` (mode 0600: it holds the simulators' secrets) for a shell
or ``hub up`` to use. An existing provision of the same scale and seed is kept, so ``up`` after
``down`` resumes where the sources were. ``down`` stops the servers by pid.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hub.ops import procs
from hub.settings import hub_home

ENV_FILE = "simulators.env"
STATE_FILE = "simulators.json"
PREFIX = "sim-"


def _run_dir(home: Path) -> Path:
    return home / "run"


def up(scale: int, seed: int = 640100, home: Path | None = None, admin_uri: str | None = None) -> dict[str, str]:
    """Provision (unless already provisioned for ``scale`` and ``seed``) and start the simulators.

    Returns:
        The ``AIRFLOW_CONN_*`` values that reach them.
    """
    from hub.store import embedded
    from simulators.city import CityPlan
    from simulators.demo_city import PROVINCE, SIMULATORS

    home = (home or hub_home()).resolve()
    rdir = _run_dir(home)
    rdir.mkdir(parents=True, exist_ok=True)
    admin = admin_uri or embedded.start(home)
    state_path = rdir / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    simulators = (*SIMULATORS, PROVINCE)
    names = [s.source for s in simulators]
    if state.get("scale") == scale and state.get("seed") == seed and state.get("simulators") == names:
        env: dict[str, str] = state["env"]
    else:
        env = {}
        plan = CityPlan(scale, seed)
        for simulator in simulators:
            env.update(simulator.provision(plan, admin, home))
        _write_private(state_path, json.dumps({"scale": scale, "seed": seed, "simulators": names, "env": env}))
    for simulator in simulators:
        name = PREFIX + simulator.source
        if simulator.start is not None and procs.read_pid_file(rdir / f"{name}.pid") is None:
            process = simulator.start(home, home / "logs" / f"{name}.log")
            procs.adopt(name, process.pid, rdir)
    _write_private(rdir / ENV_FILE, "".join(f"export {k}='{v}'\n" for k, v in sorted(env.items())))
    return env


def down(home: Path | None = None) -> list[str]:
    """Stop the simulator servers ``up`` started. Returns their names."""
    rdir = _run_dir((home or hub_home()).resolve())
    names = sorted(p.stem for p in rdir.glob(f"{PREFIX}*.pid"))
    return [name for name in names if procs.stop(name, rdir)]


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
