"""Provisioning the department simulators on a PostgreSQL server of the compose deployment."""

from __future__ import annotations

import os
from pathlib import Path

from hub.store.connection import connect

DEFAULT_SCALE = 5000


def provision_all(admin_uri: str, inbox: Path, scale: int, seed: int) -> list[str]:
    """Create the department simulators of one city on any PostgreSQL server (the compose deployment).

    The databases ``sim_ga``, ``sim_sc``, ``sim_zw`` and ``sim_rs`` are created on the server of
    ``admin_uri`` (a role allowed to create databases) and the 医保 full file is written to ``inbox``.

    Returns:
        What was created.
    """
    from simulators.city import CityPlan, entities
    from simulators.database import reset_database
    from simulators.ga import population
    from simulators.rs import insured
    from simulators.sc import entities as sc_entities
    from simulators.yb.enrolments import Dirt, encode_csv, file_name, full_state, write_file
    from simulators.zw import cases

    plan = CityPlan(scale, seed)
    population.create(reset_database(admin_uri, population.DATABASE), plan.persons, plan.seed)
    sc_entities.create(reset_database(admin_uri, sc_entities.DATABASE), entities(plan))
    cases.create(reset_database(admin_uri, cases.DATABASE), plan)
    insured.create(reset_database(admin_uri, insured.DATABASE), plan)
    inbox.mkdir(parents=True, exist_ok=True)
    write_file(inbox, file_name(0), encode_csv(full_state(plan), Dirt(), seed=plan.seed))
    return [population.DATABASE, sc_entities.DATABASE, cases.DATABASE, insured.DATABASE, str(inbox)]


def main(argv: list[str] | None = None) -> int:
    """``python -m hub.ops.simulators all --admin-uri URI --inbox DIR``: the compose ``sim-init`` service.

    Creates every department simulator of one city on the simulators' PostgreSQL once; a server
    that already holds ``sim_ga`` is left as it is (a restart resumes where the sources were).
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m hub.ops.simulators")
    parser.add_argument("simulators", choices=["all"])
    parser.add_argument("--admin-uri", required=True, help="libpq URI of the simulators' server (may create databases)")
    parser.add_argument("--inbox", type=Path, required=True, help="the 医保 file-drop inbox directory")
    parser.add_argument("--scale", type=int, default=int(os.environ.get("HUB_SIM_SCALE", DEFAULT_SCALE)))
    parser.add_argument("--seed", type=int, default=640100)
    args = parser.parse_args(argv)
    from psycopg import sql

    from simulators.province.provision import DATABASE as PROVINCE_DATABASE

    with connect(args.admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'sim_ga'").fetchone()
        # the provincial platform simulator (service sim-province) keeps what it receives there
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PROVINCE_DATABASE,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PROVINCE_DATABASE)))
    if exists:
        print("department simulators already provisioned; kept")
        return 0
    created = provision_all(args.admin_uri, args.inbox, args.scale, args.seed)
    print("department simulators ready: " + ", ".join(created))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
