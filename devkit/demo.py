"""``python -m devkit demo``: a small city, run end to end through the real DAGs into the hub's own store.

It starts the embedded PostgreSQL, resets the store every ``hub`` command reads by default
(database ``sharehub`` on the embedded server under ``$HUB_HOME``), provisions the five
department simulators for one city (databases, the 医保 inbox, the 人社 server), runs every
ingest DAG with ``dag.test()`` (full loads), applies a day of changes at every source, runs
them again (incremental), runs the ``efficiency`` DAG (效能监管), derives the certificates and
case records, pushes them to the provincial platform simulator and reconciles. Then one
department reads through the real data API (a masked read, a verification) and the audit
chain is verified. Afterwards ``hub status``, ``hub ledger``, ``hub quality report``,
``hub efficiency report`` and ``psql "$(hub store url)"`` show what it did.

It refuses to run while a ``hub up`` stack (or ``python -m devkit simulate up``) runs on the same
``$HUB_HOME``: resetting the store and the simulators would pull them from under it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hub.store.connection import connect

LEGACY_DEMO_DATABASE = "sharehub_demo"  # where demos before issue 13 wrote; dropped to free its space


class DemoRefused(Exception):
    """The demo cannot run as asked; the message is one line naming why and what to do."""


@dataclass
class DemoReport:
    """What the demo did, as printed by ``python -m devkit demo`` and ``python -m devkit demo --json``."""

    scale: int
    seed: int
    store: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    push: dict[str, Any] = field(default_factory=dict)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    efficiency: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, Any] = field(default_factory=dict)
    access: dict[str, Any] = field(default_factory=dict)
    log: str = ""

    def sources(self) -> dict[str, dict[str, int]]:
        """The counts of each source's last run."""
        last: dict[str, dict[str, int]] = {}
        for run in self.runs:
            last[run["source"]] = {k: run[k] for k in ("extracted", "inserted", "updated", "unchanged", "quarantined")}
        return last

    def to_json(self) -> dict[str, Any]:
        """The ``python -m devkit demo --json`` object (counts and masked values only: no personal data)."""
        return {
            "scale": self.scale,
            "seed": self.seed,
            "store": self.store,
            "sources": self.sources(),
            "runs": self.runs,
            "changes": self.changes,
            "push": self.push,
            "reconciliation": self.reconciliation,
            "efficiency": self.efficiency,
            "findings": self.findings,
            "access": self.access,
            "log": self.log,
        }


class StepLog:
    """One line per step on stderr: ``[ 3/20  0:41] ingest_zw_cases (full load)``.

    The stream is a copy of descriptor 2 taken before the demo sends descriptors 1 and 2 to its
    log file (Airflow's task logs), so the lines reach the terminal while the DAGs run.
    """

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self._stream = stream
        self._started = time.monotonic()

    @classmethod
    def to_stderr(cls, total: int) -> StepLog:
        """A step log on a copy of this process's stderr (closed by :meth:`close`)."""
        return cls(total, open(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace"))

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self._started)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def step(self, what: str) -> None:
        """Announce the next step."""
        self.done += 1
        self._stream.write(f"[{self.done:>2}/{self.total} {self._elapsed():>5}] {what}\n")

    def note(self, text: str) -> None:
        """A line that is not a step (a notice about this run)."""
        self._stream.write(f"devkit demo: {text}\n")

    def close(self, outcome: str) -> None:
        """Say how it ended and release the stream."""
        self._stream.write(f"[{self.done:>2}/{self.total} {self._elapsed():>5}] {outcome}\n")
        self._stream.close()


def running_stack(home: Path) -> dict[str, int]:
    """The processes ``hub up`` or ``python -m devkit simulate up`` started on ``home`` that are alive (name: pid)."""
    from hub.ops import procs

    return procs.running(home / "run")


def refuse_if_stack_runs(home: Path) -> None:
    """Raise :class:`DemoRefused` when a stack started on ``home`` is running.

    The demo resets the store and the simulators' databases; it must not do that under a running
    scheduler or simulator.
    """
    alive = running_stack(home)
    if alive:
        names = ", ".join(sorted(alive))
        raise DemoRefused(
            f"a stack is running on HUB_HOME {home} ({names}); the demo resets its store: "
            "stop it with `hub down` (or `python -m devkit simulate down`), or run the demo with another HUB_HOME"
        )


def prepare(scale: int, seed: int, steps: StepLog) -> tuple[str, str, list[subprocess.Popen]]:
    """Start the embedded server, reset the hub's store, provision every simulator, point the connections at them.

    Returns:
        The admin URI, the store URI and the simulator server processes started.
    """
    from connectors.connections import postgres_connection_json
    from devkit import simulate
    from hub import airflow_env
    from hub.settings import HUB_DATABASE, hub_home
    from hub.store import embedded
    from hub.store.migrate import migrate
    from simulators.city import CityPlan
    from simulators.database import reset_database
    from simulators.demo_city import SIMULATORS

    home = hub_home()
    admin = embedded.start()
    airflow_env.configure(airflow_env.embedded_metadata_uri(admin))
    store = reset_database(admin, HUB_DATABASE)
    with _admin(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{LEGACY_DEMO_DATABASE}" WITH (FORCE)')
    migrate(store)
    # The embedded store, whatever the shell has configured: it is what `hub status` reads by default.
    os.environ["AIRFLOW_CONN_HUB_STORE"] = postgres_connection_json(embedded.socket_dir_of(admin), HUB_DATABASE)
    airflow_env.migrate_metadata()
    steps.step(f"provisioning the five department simulators for {scale:,} persons")
    # their databases are recreated below: a later `python -m devkit simulate up` must provision them afresh
    (home / "run" / simulate.STATE_FILE).unlink(missing_ok=True)
    plan = CityPlan(scale, seed)
    servers = []
    for simulator in SIMULATORS:
        os.environ.update(simulator.provision(plan, admin, home))
        if simulator.start is not None:
            servers.append(simulator.start(home, home / "logs" / f"sim-{simulator.source}.log"))
    return admin, store, servers


def _admin(admin_uri: str) -> Any:
    return connect(admin_uri, autocommit=True)


def total_steps() -> int:
    """Steps the demo announces: store, simulators, two rounds of ingests, the day of changes, the rest."""
    from hub.registry import SOURCES

    return 2 + 2 * len(SOURCES) + 1 + 1 + 3 + 3 + 1  # the last: quality_daily, which builds the Data Docs


def run_demo(scale: int = 5000, seed: int = 640100) -> DemoReport:
    """Run the demo and return its report.

    Raises:
        DemoRefused: a stack runs on the same ``$HUB_HOME``.
    """
    from devkit.dagrun import output_to
    from hub.settings import HUB_DATABASE, hub_home

    home = hub_home()
    refuse_if_stack_runs(home)
    log_path = home / "logs" / "demo.log"
    report = DemoReport(scale=scale, seed=seed, log=str(log_path))
    report.store = {"database": HUB_DATABASE, "server": "embedded", "home": str(home), "reset": True}
    steps = StepLog.to_stderr(total_steps())
    outcome = "failed; see " + str(log_path)
    try:
        if os.environ.get("AIRFLOW_CONN_HUB_STORE"):
            steps.note(
                "AIRFLOW_CONN_HUB_STORE is set in this shell; the demo uses the embedded store instead "
                "(unset it to look at the demo's results with hub status, hub ledger, ...)"
            )
        steps.step(f"resetting the store: database {HUB_DATABASE} on the embedded server under {home}")
        with output_to(log_path):
            _run(report, scale, seed, steps)
        outcome = f"done; Airflow and task logs in {log_path}"
    finally:
        steps.close(outcome)
    return report


def _run(report: DemoReport, scale: int, seed: int, steps: StepLog) -> None:
    from devkit.dagrun import run_dag_once
    from devkit.demo_api import department_read
    from devkit.demo_push import push_and_reconcile
    from hub.registry import SOURCES
    from hub.settings import hub_home
    from hub.store import ledger
    from simulators.city import CityPlan
    from simulators.demo_city import SIMULATORS
    from simulators.ga import population

    admin, store, servers = prepare(scale, seed, steps)
    try:
        base = dt.datetime.combine(population.BASE_DAY, dt.time(1), tzinfo=dt.UTC)
        for day in (0, 1):
            if day:
                steps.step("a day of changes at every source (births, deaths, 吊销, new cases, a 医保 file, ...)")
                plan = CityPlan(scale, seed)
                for simulator in SIMULATORS:
                    report.changes[simulator.source] = simulator.apply_day(plan, admin, hub_home(), day)
            for spec in SOURCES:
                steps.step(f"{spec.dag_id} ({'incremental' if day else 'full load'})")
                run_id, state = run_dag_once(spec.dag_id, base + dt.timedelta(days=day))
                entry = ledger.get(store, f"{spec.name}:{run_id}")
                if state != "success" or entry is None:
                    raise RuntimeError(f"{spec.dag_id} run {run_id} ended {state}; see {report.log}")
                report.runs.append(
                    {"source": spec.name, "dag_id": spec.dag_id, "run_id": run_id, "state": state,
                     "balanced": entry.balanced, **entry.counts(), "rules": entry.rule_counts}
                )  # fmt: skip
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    steps.step("efficiency: the 效能监管 indicators (the efficiency DAG, as the new case steps trigger it)")
    # the run the day-1 case steps trigger: its stat date is that day in Asia/Shanghai
    run_id, state = run_dag_once("efficiency", base + dt.timedelta(days=1))
    if state != "success":
        raise RuntimeError(f"efficiency run {run_id} ended {state}; see {report.log}")
    report.efficiency = efficiency_section(store, run_id)
    steps.step("quality_daily: every table's whole GX suite and the Data Docs (a batch's check writes none)")
    run_id, state = run_dag_once("quality_daily", base + dt.timedelta(days=1))
    if state != "success":
        raise RuntimeError(f"quality_daily run {run_id} ended {state}; see {report.log}")
    delivered = push_and_reconcile(fill_if_empty=False, progress=steps.step)
    report.push, report.reconciliation = delivered["push"], delivered["reconciliation"]
    steps.step("the open cross-department findings")
    report.findings = findings_section(store)
    steps.step("a department reads through the data API (uvicorn on 127.0.0.1): a masked read, a 核验")
    report.access = department_read(store)
    steps.step("hub audit verify: the hash-chained access audit log")
    report.access["audit"] = audit_section(store)


def efficiency_section(uri: str, run_id: str) -> dict[str, Any]:
    """The indicators of the computed stat date, city-wide and per department, and what the run did."""
    from hub.efficiency.report import day_report, state

    computed = state(uri)
    return {"run_id": run_id, "computed": computed["last_run"] if computed else None, **day_report(uri)}


def findings_section(uri: str) -> dict[str, Any]:
    """Open cross-department findings: the total and the count per (table, rule)."""
    from quality.findings import summary

    rows = [{"source": r["source"], "rule": r["rule"], "open": r["open"]} for r in summary(uri) if r["open"]]
    return {"open": sum(r["open"] for r in rows), "by_rule": rows}


def audit_section(uri: str) -> dict[str, Any]:
    """What ``hub audit verify`` says of the access audit chain."""
    from hub.access.audit import verify

    with connect(uri) as conn:
        chain = verify(conn)
    return {"entries": chain.entries, "ok": chain.ok, "problems": chain.problems}


def print_json(report: DemoReport) -> None:
    """Print the report as one JSON object."""
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2, default=str))
