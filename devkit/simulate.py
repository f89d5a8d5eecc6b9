"""The department simulators of one city: on this machine (``up``/``down``) or on a compose server (``provision``).

``up`` provisions every simulator of :data:`simulators.demo_city.SIMULATORS` and the provincial
platform (:data:`~simulators.demo_city.PROVINCE`, with the city's SM2 signing key) for a city of
``scale`` persons (databases on the embedded server, the 医保 inbox), starts the server
simulators (人社) by pid file under ``$HUB_HOME/run``, and writes the ``AIRFLOW_CONN_*`` values
to ``$HUB_HOME/run/simulators.env`` (mode 0600: it holds the simulators' secrets) for a shell
or ``hub up`` to use. An existing provision of the same scale and seed is kept, so ``up`` after
``down`` resumes where the sources were. ``down`` stops the servers by pid.

:func:`provision_all` creates the same department databases on any PostgreSQL server: the compose
``sim-init`` service runs it as ``python -m devkit simulate provision``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
from psycopg import sql

from hub.ops import procs
from hub.settings import hub_home
from simulators.city import CityPlan, entities
from simulators.database import reset_database
from simulators.demo_city import PROVINCE, SIMULATORS
from simulators.ga import population
from simulators.province.provision import DATABASE as PROVINCE_DATABASE
from simulators.rs import insured
from simulators.sc import entities as sc_entities
from simulators.yb.enrolments import Dirt, encode_csv, file_name, full_state, write_file
from simulators.zw import cases

ENV_FILE = "simulators.env"
STATE_FILE = "simulators.json"
PREFIX = "sim-"
DEFAULT_SCALE = 5000
DEFAULT_SEED = 640100


def _run_dir(home: Path) -> Path:
    return home / "run"


def up(scale: int, seed: int = DEFAULT_SEED, home: Path | None = None, admin_uri: str | None = None) -> dict[str, str]:
    """Provision (unless already provisioned for ``scale`` and ``seed``) and start the simulators.

    Returns:
        The ``AIRFLOW_CONN_*`` values that reach them.
    """
    from hub.store import embedded

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


def provision_all(admin_uri: str, inbox: Path, scale: int, seed: int) -> list[str]:
    """Create the department simulators of one city on any PostgreSQL server (the compose deployment).

    The databases ``sim_ga``, ``sim_sc``, ``sim_zw`` and ``sim_rs`` are created on the server of
    ``admin_uri`` (a role allowed to create databases) and the 医保 full file is written to ``inbox``.

    Returns:
        What was created.
    """
    plan = CityPlan(scale, seed)
    population.create(reset_database(admin_uri, population.DATABASE), plan.persons, plan.seed)
    sc_entities.create(reset_database(admin_uri, sc_entities.DATABASE), entities(plan))
    cases.create(reset_database(admin_uri, cases.DATABASE), plan)
    insured.create(reset_database(admin_uri, insured.DATABASE), plan)
    inbox.mkdir(parents=True, exist_ok=True)
    write_file(inbox, file_name(0), encode_csv(full_state(plan), Dirt(), seed=plan.seed))
    return [population.DATABASE, sc_entities.DATABASE, cases.DATABASE, insured.DATABASE, str(inbox)]


def provision_once(admin_uri: str, inbox: Path, scale: int, seed: int) -> list[str]:
    """The compose ``sim-init`` service: :func:`provision_all` unless the server already holds ``sim_ga``.

    A server that holds ``sim_ga`` is left as it is (a restart resumes where the sources were);
    the provincial platform's database (service ``sim-province`` keeps what it receives there) is
    created when missing either way.

    Returns:
        What was created (empty when everything was kept).
    """
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (population.DATABASE,)).fetchone()
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PROVINCE_DATABASE,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PROVINCE_DATABASE)))
    return [] if exists else provision_all(admin_uri, inbox, scale, seed)
