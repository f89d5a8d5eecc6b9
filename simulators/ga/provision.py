"""Provision the 公安 simulator for a city plan: database ``sim_ga`` on the embedded server."""

from __future__ import annotations

from pathlib import Path

from simulators.city import CityPlan
from simulators.database import provision_database
from simulators.ga import population

CONN_ID = "ga_population"


def provision(plan: CityPlan, admin_uri: str, home: Path | None = None) -> dict[str, str]:
    """(Re)create ``T_RK_JBXX`` for ``plan`` and return the Airflow connection it is reached by.

    Returns:
        ``{"AIRFLOW_CONN_GA_POPULATION": <connection JSON>}``.
    """
    return provision_database(
        admin_uri, population.DATABASE, CONN_ID, lambda uri: population.create(uri, plan.persons, plan.seed)
    )
