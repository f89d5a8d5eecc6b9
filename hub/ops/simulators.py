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
