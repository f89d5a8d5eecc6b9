"""``make up`` / ``make down``: the whole stack on 127.0.0.1, every DAG listed with its doc, the real
scheduler firing a freshness deadline alert, and nothing left behind."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from hub.deployment import CONNECTIONS, POOLS
from hub.ops import procs
from hub.ops.stack import expected_dags

pytestmark = pytest.mark.e2e


@pytest.fixture
def home() -> Iterator[Path]:
    """A fresh ``HUB_HOME`` under /tmp (the embedded server's own user must reach it, unlike tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix="sharehub-stack-"))
    yield path / "hub"
    shutil.rmtree(path, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stack_env(home: Path, **ports: int) -> dict[str, str]:
    # The stack configures its own Airflow; nothing of the test session's may leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HUB_"))}
    env.update({"HUB_HOME": str(home), "HUB_SIM_SCALE": "300", "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"})
    env.update({k: str(v) for k, v in ports.items()})
    return env


def _stack_processes(home: Path) -> list[psutil.Process]:
    found = []
    for pid in procs.running(home / "run").values():
        root = psutil.Process(pid)
        found += [root, *root.children(recursive=True)]
    postmaster = home / "pg" / "postmaster.pid"
    if postmaster.exists():
        root = psutil.Process(int(postmaster.read_text().split()[0]))
        found += [root, *root.children(recursive=True)]
    return found


def _listening(proc: psutil.Process) -> list:
    """The addresses ``proc`` listens on (none once a short-lived child has gone)."""
    try:
        return [c.laddr for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    except psutil.NoSuchProcess:
        return []


def _deadline_alert_fires(home: Path, env: dict[str, str]) -> None:
    """Every ingest run missed its one-second deadline: the scheduler recorded the alert."""
    import time

    import psycopg

    from hub.store import embedded

    store = embedded.database_uri(embedded.admin_uri(home), "sharehub")
    deadline = time.monotonic() + 240
    alerts: list[tuple] = []
    while time.monotonic() < deadline and not alerts:
        with psycopg.connect(store) as conn:
            alerts = conn.execute(
                "SELECT source, kind, run_id FROM hub.freshness_alert WHERE kind = 'deadline'"
            ).fetchall()
        time.sleep(2)
    assert any(a[:2] == ("ga_population", "deadline") for a in alerts)
    status = subprocess.run(
        [sys.executable, "-m", "hub.cli", "status", "--json"], env=env, capture_output=True, text=True, check=True
    )
    source = json.loads(status.stdout)["sources"][0]
    assert source["source"] == "ga_population" and source["last_alert"]["kind"] == "deadline"


def _get(url: str, **params: object) -> dict:
    """GET a JSON answer, patient with an api-server that a busy 2-core machine slows down."""
    for attempt in range(5):
        try:
            resp = requests.get(url, params=params, timeout=60)
            resp.raise_for_status()
            return resp.json()
        except (requests.ConnectionError, requests.Timeout):
            if attempt == 4:
                raise
    raise AssertionError("not reached")


def _api(port: int) -> str:
    return f"http://127.0.0.1:{port}/api/v2"


def _trigger(api: str, dag_id: str) -> str:
    """Unpause and trigger ``dag_id`` as an operator does from the UI: no logical date."""
    assert requests.patch(f"{api}/dags/{dag_id}", json={"is_paused": False}, timeout=60).ok
    resp = requests.post(f"{api}/dags/{dag_id}/dagRuns", json={"logical_date": None}, timeout=60)
    assert resp.ok, resp.text
    run = resp.json()
    assert run["logical_date"] is None
    return run["dag_run_id"]


def _wait_for_runs(api: str, runs: dict[str, str], home: Path, timeout: float = 900) -> dict[str, float]:
    """Wait until every ``dag_id -> run_id`` succeeded; return each one's duration in seconds."""
    import time

    pending, took = dict(runs), {}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for dag_id, run_id in list(pending.items()):
            run = _get(f"{api}/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] == "failed":
                tis = _get(f"{api}/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
                states = {t["task_id"]: t["state"] for t in tis["task_instances"]}
                logs = sorted((home / "logs").glob("*.log"))
                raise AssertionError(f"{dag_id} {run_id} failed: {states}; logs in {logs}")
            if run["state"] == "success":
                took[dag_id] = _seconds(run["start_date"], run["end_date"])
                del pending[dag_id]
        time.sleep(3)
    assert not pending, f"still not done after {timeout:.0f} s: {pending}"
    return took


def _deliver_the_days_file(api: str, home: Path) -> None:
    """Unpausing made a scheduled 医保 run that waits for its day's file: 医保 delivers it.

    Without it the manual run stays queued behind (one active run per DAG). The file is the
    full file once more, so it loads nothing new: a re-delivery is routine for this department.
    """
    import datetime as dt
    import shutil
    import time

    from hub.ops.airflow_cli import read_env_file

    env = read_env_file(home / "run" / "airflow.env")
    inbox = Path(json.loads(env["AIRFLOW_CONN_YB_MEDICAL_INSURANCE"])["extra"]["path"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = _get(f"{api}/dags/ingest_yb_medical_insurance/dagRuns")["dag_runs"]
        scheduled = [r for r in runs if r["run_type"] == "scheduled"]
        if scheduled:
            day = dt.datetime.fromisoformat(scheduled[0]["logical_date"]).strftime("%Y%m%d")
            full = sorted(inbox.glob("YB_CBXX_*.csv"))[0]
            shutil.copy(full, inbox / f"YB_CBXX_{day}.csv")
            (inbox / f"YB_CBXX_{day}.ok").touch()
            return
        time.sleep(3)


def _seconds(start: str, end: str) -> float:
    import datetime as dt

    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def _hub_airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "airflow", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-3000:])
    return result


def _readme_commands_work(api: str, home: Path, env: dict[str, str]) -> None:
    """The README's trigger, backfill and clear, through ``hub airflow`` against the stack's metadata."""
    import datetime as dt

    _hub_airflow(env, "dags", "trigger", "watch_freshness")
    runs = _get(f"{api}/dags/watch_freshness/dagRuns")["dag_runs"]
    assert any(r["run_type"] == "manual" for r in runs)

    day = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    _hub_airflow(env, "backfill", "create", "--dag-id", "ingest_zw_cases", "--from-date", day, "--to-date", day)
    backfills = _get(f"{api}/backfills", dag_id="ingest_zw_cases")
    assert backfills["total_entries"] == 1

    # Clearing selects runs by logical date: a scheduled run has one (a manual run is cleared in the UI).
    runs = _get(f"{api}/dags/ingest_ga_population/dagRuns")["dag_runs"]
    ran = next(r for r in runs if r["logical_date"] and r["state"] == "success")
    when = ran["logical_date"]
    _hub_airflow(env, "tasks", "clear", "ingest_ga_population", "-s", when, "-e", when, "--yes")
    again = _get(f"{api}/dags/ingest_ga_population/dagRuns/{ran['dag_run_id']}")
    assert again["state"] != "success" or again["end_date"] != ran["end_date"]
    _wait_for_runs(api, {"ingest_ga_population": ran["dag_run_id"]}, home)


def _store_counts(home: Path) -> dict[str, int]:
    import psycopg

    from hub.store import embedded

    admin = embedded.admin_uri(home)
    with psycopg.connect(embedded.database_uri(admin, "sharehub")) as conn:
        hub = dict(
            conn.execute(
                "SELECT 'delivered', count(*) FROM hub.push_outbox WHERE status = 'delivered' "
                "UNION ALL SELECT 'outbox', count(*) FROM hub.push_outbox "
                "UNION ALL SELECT 'persons', count(*) FROM shared.population "
                "UNION ALL SELECT 'efficiency', count(*) FROM shared.service_efficiency"
            ).fetchall()
        )
    with psycopg.connect(embedded.database_uri(admin, "sim_province")) as conn:
        hub["province"] = conn.execute("SELECT count(*) FROM accepted").fetchone()[0]
    return hub


def _up_run_everything_down(home: Path, executor: str) -> None:
    import time

    from hub.registry import SOURCES

    ingest_dags = [spec.dag_id for spec in SOURCES]
    port = _free_port()
    env = _stack_env(home, HUB_AIRFLOW_PORT=port, HUB_API_PORT=_free_port(), HUB_REDIS_PORT=_free_port())
    # A deadline no run can meet: the scheduler must fire the freshness alert for it.
    env["HUB_DEADLINE_GA_POPULATION_SECONDS"] = "1"
    api = _api(port)
    running: list[psutil.Process] = []
    try:
        began = time.monotonic()
        up = subprocess.run(
            [sys.executable, "-m", "devkit", "up", "--executor", executor],  # make up: hub up with the simulators
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert up.returncode == 0, up.stderr[-3000:]
        print(f"[{executor}] hub up: {time.monotonic() - began:.0f} s", file=sys.stderr)
        assert json.loads(up.stdout)["executor"] == executor

        listed = _get(f"{api}/dags", limit=1000)["dags"]
        assert sorted(d["dag_id"] for d in listed) == expected_dags()
        assert _get(f"{api}/importErrors")["total_entries"] == 0
        for pool in POOLS:
            assert _get(f"{api}/pools/{pool.name}")["slots"] == pool.slots
        stack_env = (home / "run" / "airflow.env").read_text()
        for conn in CONNECTIONS:
            assert f"export {conn.env_var}=" in stack_env, conn.env_var
        assert (home / "run" / "airflow.env").stat().st_mode & 0o777 == 0o600

        running = _stack_processes(home)
        names = {p.stem for p in (home / "run").glob("*.pid")}
        assert {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"} <= names
        assert "sim-provincial_platform" in names
        if executor == "celery":
            assert {"redis", "airflow-celery-worker-1", "airflow-celery-worker-2"} <= names
        for proc in running:
            for addr in _listening(proc):
                assert addr.ip == "127.0.0.1", (proc, addr)

        manual = {dag_id: _trigger(api, dag_id) for dag_id in ingest_dags}
        _deliver_the_days_file(api, home)
        took = _wait_for_runs(api, manual, home)
        for dag_id in ("derive_certificates", "push_provincial", "reconcile_provincial", "efficiency"):
            took |= _wait_for_runs(api, {dag_id: _trigger(api, dag_id)}, home)
        print(f"[{executor}] seconds per DAG run: {took}", file=sys.stderr)

        counts = _store_counts(home)
        assert counts["persons"] > 0 and counts["efficiency"] > 0
        assert counts["outbox"] > 0 and counts["delivered"] == counts["outbox"]
        assert counts["province"] == counts["delivered"]
        if executor == "celery":
            workers = {t["hostname"] for t in _task_instances(api, ingest_dags) if t["hostname"]}
            assert workers, "no task ran on a Celery worker"
        else:
            _readme_commands_work(api, home, env)
            _deadline_alert_fires(home, env)
            _console_shows_the_store(port, home)
    finally:
        began = time.monotonic()
        down = subprocess.run(
            [sys.executable, "-m", "hub.cli", "down"], env=env, capture_output=True, text=True, timeout=300
        )
        print(f"[{executor}] hub down: {time.monotonic() - began:.0f} s", file=sys.stderr)
    assert down.returncode == 0, down.stderr[-3000:]
    assert running
    _, alive = psutil.wait_procs(running, timeout=10)
    assert alive == [], [(p.pid, p.name()) for p in alive]
    assert list((home / "run").glob("*.pid")) == []
    assert not (home / "run" / "airflow.env").exists()
    assert procs.port_free("127.0.0.1", port)


def _console_shows_the_store(port: int, home: Path) -> None:
    """The ShareHub console in the Airflow UI, after the DAGs ran (tests/console/stack_checks.py)."""
    from hub.store import embedded
    from tests.console.stack_checks import check_console

    check_console(f"http://127.0.0.1:{port}", embedded.database_uri(embedded.admin_uri(home), "sharehub"), home)


def _task_instances(api: str, dag_ids: list[str]) -> list[dict]:
    found = []
    for dag_id in dag_ids:
        found += _get(f"{api}/dags/{dag_id}/dagRuns/~/taskInstances")["task_instances"]
    return found


def test_hub_up_runs_every_dag_triggered_as_an_operator_does_and_hub_down_leaves_nothing(home: Path) -> None:
    _up_run_everything_down(home, "local")


def test_hub_up_with_celery_workers_runs_every_dag(home: Path) -> None:
    _up_run_everything_down(home, "celery")


def test_up_refuses_a_port_in_use_and_starts_nothing(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = _stack_env(home, HUB_AIRFLOW_PORT=taken.getsockname()[1])
        result = subprocess.run(
            [sys.executable, "-m", "hub.cli", "up"], env=env, capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 1
    assert "HUB_AIRFLOW_PORT" in result.stderr and "in use" in result.stderr
    assert list((home / "run").glob("*.pid")) == []
    assert not (home / "pg" / "postmaster.pid").exists()
