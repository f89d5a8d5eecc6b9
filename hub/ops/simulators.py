"""Preparing the database simulators of the local stack on the embedded server."""

from __future__ import annotations

import os

DEFAULT_SCALE = 5000


def prepare_ga_population(admin_uri: str) -> str:
    """Create and generate the 公安 simulator database once; return its ``AIRFLOW_CONN`` JSON.

    The scale is ``$HUB_SIM_SCALE`` persons (default 5,000). An existing database is kept, so
    ``make up`` after ``make down`` resumes where the source was.
    """
    import psycopg

    from connectors.connections import postgres_connection_json
    from hub.store.embedded import ensure_database, socket_dir_of
    from simulators.ga import population

    uri = ensure_database(admin_uri, population.DATABASE)
    with psycopg.connect(uri) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f'"{population.TABLE}"',)).fetchone()
    if not exists or exists[0] is None:
        population.create(uri, int(os.environ.get("HUB_SIM_SCALE", DEFAULT_SCALE)), seed=640100)
    return postgres_connection_json(socket_dir_of(admin_uri), population.DATABASE)


def main(argv: list[str] | None = None) -> int:
    """``python -m hub.ops.simulators ga_population --uri URI``: generate a simulator into any PostgreSQL.

    Used by the ``sim-ga`` service of ``docker-compose.yml``; an existing table is kept.
    """
    import argparse

    import psycopg

    from simulators.ga import population

    parser = argparse.ArgumentParser(prog="python -m hub.ops.simulators")
    parser.add_argument("simulator", choices=["ga_population"])
    parser.add_argument("--uri", required=True, help="libpq URI of the simulator's database")
    parser.add_argument("--scale", type=int, default=int(os.environ.get("HUB_SIM_SCALE", DEFAULT_SCALE)))
    parser.add_argument("--seed", type=int, default=640100)
    args = parser.parse_args(argv)
    with psycopg.connect(args.uri) as conn:
        (exists,) = conn.execute("SELECT to_regclass(%s)", (f'"{population.TABLE}"',)).fetchone()
    if exists is None:
        population.create(args.uri, args.scale, args.seed)
    print(f"{population.TABLE}: ready in {args.uri.rsplit('/', 1)[-1].split('?')[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
