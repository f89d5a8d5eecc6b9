"""The five department simulators of one city, each provisioned and advanced a day the same way.

``python -m devkit demo`` and ``python -m devkit simulate up`` use this one list, so a new simulator is
added in one place.
A simulator is provisioned for a :class:`~simulators.city.CityPlan` (returning the ``AIRFLOW_CONN_*``
values the DAGs reach it by), may run a server process, and can apply a day of changes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulators.city import CityPlan, persons


@dataclass(frozen=True)
class DepartmentSimulator:
    """One department system.

    Attributes:
        source: The registry name of the source it feeds.
        provision: ``(plan, admin_uri, home) -> {AIRFLOW_CONN_*: value}``; recreates its data.
        apply_day: ``(plan, admin_uri, home, day) -> summary`` of the changes it made.
        start: ``(home, log) -> process`` for a simulator that is a server, else ``None``.
    """

    source: str
    provision: Callable[[CityPlan, str, Path], dict[str, str]]
    apply_day: Callable[[CityPlan, str, Path, int], dict[str, Any]]
    start: Callable[[Path, Path], subprocess.Popen] | None = None


def _db(admin_uri: str, database: str) -> str:
    from hub.store.embedded import database_uri

    return database_uri(admin_uri, database)


def _ga_day(plan: CityPlan, admin_uri: str, home: Path, day: int) -> dict[str, Any]:
    from simulators.ga import population

    change = population.apply_day(_db(admin_uri, population.DATABASE), day, plan.seed)
    return {**change.__dict__, "total": change.total}


def _sc_day(plan: CityPlan, admin_uri: str, home: Path, day: int) -> dict[str, Any]:
    from simulators.sc import entities

    change = entities.apply_day(_db(admin_uri, entities.DATABASE), day, plan.seed, persons(plan.persons, plan.seed))
    return {**change.__dict__, "total": change.total}


def _zw_day(plan: CityPlan, admin_uri: str, home: Path, day: int) -> dict[str, Any]:
    from simulators.zw import cases

    return cases.apply_day(_db(admin_uri, cases.DATABASE), plan, day).__dict__


def _rs_day(plan: CityPlan, admin_uri: str, home: Path, day: int) -> dict[str, Any]:
    from simulators.rs import insured

    return insured.apply_day(_db(admin_uri, insured.DATABASE), day, plan).__dict__


def _yb_day(plan: CityPlan, admin_uri: str, home: Path, day: int) -> dict[str, Any]:
    from simulators.yb.provision import deliver_day, inbox_of

    delivered = deliver_day(inbox_of(home), day, plan)
    return {"file": delivered["file"], "rows": delivered["rows"]}


def _provision(module: str) -> Callable[[CityPlan, str, Path], dict[str, str]]:
    def provision(plan: CityPlan, admin_uri: str, home: Path) -> dict[str, str]:
        import importlib

        return importlib.import_module(module).provision(plan, admin_uri, home)

    return provision


def _start_rs(home: Path, log: Path) -> subprocess.Popen:
    from simulators.rs.provision import start

    return start(home, log)


def _start_province(home: Path, log: Path) -> subprocess.Popen:
    from simulators.province.local import start

    return start(home, log)


def _no_day(plan: CityPlan, admin_uri: str, home: Path, day: int) -> dict[str, Any]:
    return {}


SIMULATORS: tuple[DepartmentSimulator, ...] = (
    DepartmentSimulator("ga_population", _provision("simulators.ga.provision"), _ga_day),
    DepartmentSimulator("sc_market_entities", _provision("simulators.sc.provision"), _sc_day),
    DepartmentSimulator("zw_cases", _provision("simulators.zw.provision"), _zw_day),
    DepartmentSimulator("yb_medical_insurance", _provision("simulators.yb.provision"), _yb_day),
    DepartmentSimulator("rs_social_insurance", _provision("simulators.rs.provision"), _rs_day, start=_start_rs),
)

# The provincial platform the push delivers to: provisioned and served with the departments by
# ``python -m devkit simulate up`` / ``hub up``, but it has no day of changes of its own.
PROVINCE = DepartmentSimulator(
    "provincial_platform", _provision("simulators.province.local"), _no_day, start=_start_province
)
