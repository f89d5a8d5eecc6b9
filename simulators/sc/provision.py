"""Provision the 市场监管 simulator database ``sim_sc`` for a city plan."""

from __future__ import annotations

from pathlib import Path

from simulators.city import CityPlan

CONN_ID = "sc_market_entities"


def provision(plan: CityPlan, admin_uri: str, home: Path | None = None) -> dict[str, str]:
    """(Re)create ``sim_sc`` on the embedded server with the city's ``T_SCZT_DJXX``.

    Args:
        plan: The city (scale and seed).
        admin_uri: Admin URI of the embedded server.
        home: Hub home; unused by database simulators (kept for one signature across simulators).

    Returns:
        The ``AIRFLOW_CONN_*`` environment values that point the hub at the simulator.
    """
    from simulators.city import entities
    from simulators.database import provision_database
    from simulators.sc.entities import DATABASE, create

    del home
    return provision_database(admin_uri, DATABASE, CONN_ID, lambda uri: create(uri, entities(plan)))
