"""``hub demo``: a small city, run end to end through the real DAGs on the embedded store.

It starts the embedded PostgreSQL, provisions the five department simulators for one city
(databases, the 医保 inbox, the 人社 server) and a demo store database, runs every ingest DAG
with ``dag.test()`` (full loads), applies a day of changes at every source, runs them again
(incremental), then derives the certificates and case records, pushes them to the provincial
platform simulator and reconciles, and reports all of it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import Any

DEMO_STORE_DATABASE = "sharehub_demo"


@dataclass
class DemoReport:
    """What the demo did, as printed by ``hub demo`` and ``hub demo --json``."""

    scale: int
    seed: int
    runs: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    push: dict[str, Any] = field(default_factory=dict)
    reconciliation: dict[str, Any] = field(default_factory=dict)
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
            "push": self.push,
            "reconciliation": self.reconciliation,
            "log": self.log,
        }


def prepare(scale: int, seed: int) -> tuple[str, str, list[subprocess.Popen]]:
    """Start the embedded server, reset the demo store, provision every simulator, point the connections at them.

    Returns:
        The admin URI, the demo store URI and the simulator server processes started.
    """
    from connectors.connections import postgres_connection_json
    from hub import airflow_env
    from hub.settings import hub_home
    from hub.store import embedded
    from simulators.city import CityPlan
    from simulators.database import reset_database
    from simulators.demo_city import SIMULATORS

    admin = embedded.start()
    airflow_env.configure(airflow_env.embedded_metadata_uri(admin))
    store = reset_database(admin, DEMO_STORE_DATABASE)
    # The demo always works on its own databases, whatever the shell has configured.
    os.environ["AIRFLOW_CONN_HUB_STORE"] = postgres_connection_json(embedded.socket_dir_of(admin), DEMO_STORE_DATABASE)
    airflow_env.migrate_metadata()
    plan, home = CityPlan(scale, seed), hub_home()
    servers = []
    for simulator in SIMULATORS:
        os.environ.update(simulator.provision(plan, admin, home))
        if simulator.start is not None:
            servers.append(simulator.start(home, home / "logs" / f"sim-{simulator.source}.log"))
    return admin, store, servers


def run_demo(scale: int = 5000, seed: int = 640100) -> DemoReport:
    """Run the demo and return its report."""
    from hub.dagrun import output_to, run_dag_once
    from hub.push.demo import push_and_reconcile
    from hub.registry import SOURCES
    from hub.settings import hub_home
    from hub.store import ledger
    from simulators.city import CityPlan
    from simulators.demo_city import SIMULATORS
    from simulators.ga import population

    log_path = hub_home() / "logs" / "demo.log"
    report = DemoReport(scale=scale, seed=seed, log=str(log_path))
    with output_to(log_path):
        admin, store, servers = prepare(scale, seed)
        try:
            base = dt.datetime.combine(population.BASE_DAY, dt.time(1), tzinfo=dt.UTC)
            for day in (0, 1):
                if day:
                    for simulator in SIMULATORS:
                        change = simulator.apply_day(CityPlan(scale, seed), admin, hub_home(), day)
                        report.changes[simulator.source] = change
                for spec in SOURCES:
                    run_id, state = run_dag_once(spec.dag_id, base + dt.timedelta(days=day))
                    entry = ledger.get(store, f"{spec.name}:{run_id}")
                    if state != "success" or entry is None:
                        raise RuntimeError(f"{spec.dag_id} run {run_id} ended {state}; see {log_path}")
                    report.runs.append(
                        {"source": spec.name, "dag_id": spec.dag_id, "run_id": run_id, "state": state,
                         "balanced": entry.balanced, **entry.counts(), "rules": entry.rule_counts}
                    )  # fmt: skip
            delivered = push_and_reconcile(fill_if_empty=False)
            report.push, report.reconciliation = delivered["push"], delivered["reconciliation"]
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    return report


def print_json(report: DemoReport) -> None:
    """Print the report as one JSON object."""
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2, default=str))


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
    push = Table(title="Provincial platform: push and reconciliation")
    for col in ("kind", "sent", "accepted", "duplicate", "rejected", "pending", "reconciliation"):
        push.add_column(col, justify="left" if col in ("kind", "reconciliation") else "right")
    for kind, counts in report.push.items():
        recon = report.reconciliation.get(kind)
        push.add_row(
            kind,
            *(f"{counts.get(k, 0):,}" for k in ("sent", "accepted", "duplicate", "rejected", "pending")),
            recon if isinstance(recon, str) else json.dumps(recon, ensure_ascii=False),
        )
    console.print(push)
    console.print(f"Airflow and task logs: {report.log}")
    from quality.gx_suites import docs_dir

    console.print(f"Data Docs (a GX suite per standard table, quality report): {docs_dir() / 'index.html'}")
