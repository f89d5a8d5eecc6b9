"""Provision the 公安 simulator for a city plan: database ``sim_ga`` on the embedded server."""

from __future__ import annotations

from pathlib import Path

from connectors.connections import postgres_connection_json
from simulators.city import CityPlan
from simulators.ga import population


def provision(plan: CityPlan, admin_uri: str, home: Path) -> dict[str, str]:
    """(Re)create ``T_RK_JBXX`` for ``plan`` and return the Airflow connection it is reached by.

    Args:
        plan: The city (persons and seed).
        admin_uri: Admin URI of the embedded server.
        home: ShareHub home (unused: the registry lives in the database).

    Returns:
        ``{"AIRFLOW_CONN_GA_POPULATION": <connection JSON>}``.
    """
    from hub.store.embedded import database_uri, ensure_database, socket_dir_of

    ensure_database(admin_uri, population.DATABASE)
    population.create(database_uri(admin_uri, population.DATABASE), plan.persons, plan.seed)
    return {
        "AIRFLOW_CONN_GA_POPULATION": postgres_connection_json(socket_dir_of(admin_uri), population.DATABASE),
    }
