"""``hub demo``: a small city, run end to end through the real DAGs on the embedded store.

It starts the embedded PostgreSQL, (re)creates the simulator databases and a demo store
database, generates the city, runs each ingest DAG with ``dag.test()`` (a full load), applies
a day of changes at the sources, runs them again (incremental), and reports every run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_STORE_DATABASE = "sharehub_demo"


@dataclass
class DemoReport:
    """What the demo did, as printed by ``hub demo`` and ``hub demo --json``."""

    scale: int
    seed: int
    runs: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    log: str = ""

    def sources(self) -> dict[str, dict[str, int]]:
        """The counts of each source's last run."""
        last: dict[str, dict[str, int]] = {}
        for run in self.runs:
            last[run["source"]] = {k: run[k] for k in ("extracted", "inserted", "updated", "unchanged", "quarantined")}
        return last

    def to_json(self) -> dict[str, Any]:
        """The ``hub demo --json`` object."""
        return {
            "scale": self.scale,
            "seed": self.seed,
            "sources": self.sources(),
            "runs": self.runs,
            "changes": self.changes,
            "log": self.log,
        }


def _reset_database(admin: str, database: str) -> str:
    import psycopg
    from psycopg import sql

    from hub.store.embedded import database_uri

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return database_uri(admin, database)


def prepare(scale: int, seed: int) -> dict[str, str]:
    """Start the embedded server, reset the demo databases, point the connections at them.

    Returns:
        The URIs of the demo store and of each simulator database.
    """
    from connectors.connections import postgres_connection_json
    from hub import airflow_env
    from hub.settings import hub_home
    from hub.store import embedded
    from hub.store.embedded import database_uri
    from simulators.city import CityPlan
    from simulators.ga import population
    from simulators.rs import insured
    from simulators.rs import provision as rs_provision

    admin = embedded.start()
    socket_dir = embedded.socket_dir_of(admin)
    airflow_env.configure(airflow_env.embedded_metadata_uri(admin))
    store = _reset_database(admin, DEMO_STORE_DATABASE)
    sim_ga = _reset_database(admin, population.DATABASE)
    # The demo always works on its own databases, whatever the shell has configured.
    os.environ["AIRFLOW_CONN_HUB_STORE"] = postgres_connection_json(socket_dir, DEMO_STORE_DATABASE)
    os.environ["AIRFLOW_CONN_GA_POPULATION"] = postgres_connection_json(socket_dir, population.DATABASE)
    airflow_env.migrate_metadata()
    population.create(sim_ga, scale, seed)
    os.environ.update(rs_provision.provision(CityPlan(scale, seed), admin, hub_home()))
    return {"store": store, "ga_population": sim_ga, "rs_social_insurance": database_uri(admin, insured.DATABASE)}


def run_demo(scale: int = 5000, seed: int = 640100) -> DemoReport:
    """Run the demo and return its report."""
    from hub.dagrun import output_to
    from hub.settings import hub_home
    from simulators.rs import provision as rs_provision

    log_path = hub_home() / "logs" / "demo.log"
    report = DemoReport(scale=scale, seed=seed, log=str(log_path))
    with output_to(log_path):
        uris = prepare(scale, seed)
        rs_server = rs_provision.start(hub_home(), hub_home() / "logs" / "sim-rs.log")
        try:
            _run_days(report, uris, scale, seed, log_path)
        finally:
            rs_server.terminate()
            rs_server.wait(timeout=30)
    return report


def _run_days(report: DemoReport, uris: dict[str, str], scale: int, seed: int, log_path: Path) -> None:
    """The full load, a day of changes at every source, and the incremental runs."""
    from hub.dagrun import run_dag_once
    from hub.registry import SOURCES
    from hub.store import ledger
    from simulators.city import CityPlan
    from simulators.ga import population
    from simulators.rs import insured

    base = dt.datetime.combine(population.BASE_DAY, dt.time(1), tzinfo=dt.UTC)
    for day in (0, 1):
        if day:
            report.changes["ga_population"] = population.apply_day(uris["ga_population"], day, seed).__dict__
            report.changes["rs_social_insurance"] = insured.apply_day(
                uris["rs_social_insurance"], day, CityPlan(scale, seed)
            ).__dict__
        for spec in SOURCES:
            run_id, state = run_dag_once(spec.dag_id, base + dt.timedelta(days=day))
            entry = ledger.get(uris["store"], f"{spec.name}:{run_id}")
            if state != "success" or entry is None:
                raise RuntimeError(f"{spec.dag_id} run {run_id} ended {state}; see {log_path}")
            report.runs.append(
                {
                    "source": spec.name,
                    "dag_id": spec.dag_id,
                    "run_id": run_id,
                    "state": state,
                    "balanced": entry.balanced,
                    **entry.counts(),
                    "rules": entry.rule_counts,
                }
            )


def render(report: DemoReport) -> None:
    """Print the demo report as readable tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 132)
    console.print(
        f"[bold]ShareHub demo[/bold]: a city of {report.scale:,} persons (seed {report.seed}), "
        "ingested by the real DAGs with dag.test() into the embedded PostgreSQL store."
    )
    runs = Table(title="Ingest runs (ledger)")
    for col in ("source", "run", "extracted", "inserted", "updated", "unchanged", "quarantined", "balanced"):
        runs.add_column(col, justify="right" if col not in ("source", "run") else "left")
    for r in report.runs:
        runs.add_row(
            r["source"],
            r["run_id"],
            *(f"{r[k]:,}" for k in ("extracted", "inserted", "updated", "unchanged", "quarantined")),
            "yes" if r["balanced"] else "NO",
        )
    console.print(runs)
    for source, change in report.changes.items():
        console.print(f"Day of changes at {source}: " + ", ".join(f"{k} {v}" for k, v in change.items() if k != "day"))
    rules = Table(title="Quarantined by rule (all runs)")
    rules.add_column("source")
    rules.add_column("rule")
    rules.add_column("rows", justify="right")
    totals: dict[tuple[str, str], int] = {}
    for r in report.runs:
        for rule, n in r["rules"].items():
            totals[(r["source"], rule)] = totals.get((r["source"], rule), 0) + n
    for (source, rule), n in sorted(totals.items()):
        rules.add_row(source, rule, f"{n:,}")
    console.print(rules)
    console.print(f"Airflow and task logs: {report.log}")


def print_json(report: DemoReport) -> None:
    """Print the report as one JSON object."""
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
