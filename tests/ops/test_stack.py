"""``make up`` / ``make down``: the whole stack on 127.0.0.1, every DAG listed with its doc, the real
scheduler firing a freshness deadline alert, and nothing left behind."""

from __future__ import annotations

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

from hub.deployment import POOLS
from hub.ops import procs
from hub.settings import PROJECT_ROOT

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


def _make(target: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(PROJECT_ROOT), target], env=env, capture_output=True, text=True, timeout=timeout
    )


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


def _deadline_alert_fires(api: str, home: Path, env: dict[str, str]) -> None:
    import json
    import time

    import psycopg

    from hub.store import embedded

    dag = f"{api}/api/v2/dags/ingest_ga_population"
    assert requests.patch(dag, json={"is_paused": False}, timeout=10).ok
    run = requests.post(f"{dag}/dagRuns", json={"logical_date": None}, timeout=10).json()
    store = embedded.database_uri(embedded.admin_uri(home), "sharehub")
    deadline = time.monotonic() + 240
    alerts: list[tuple] = []
    while time.monotonic() < deadline and not alerts:
        with psycopg.connect(store) as conn:
            alerts = conn.execute(
                "SELECT source, kind, run_id FROM hub.freshness_alert WHERE kind = 'deadline'"
            ).fetchall()
        time.sleep(2)
    assert ("ga_population", "deadline", run["dag_run_id"]) in alerts
    status = subprocess.run(
        [sys.executable, "-m", "hub.cli", "status", "--json"], env=env, capture_output=True, text=True, check=True
    )
    source = json.loads(status.stdout)["sources"][0]
    assert source["source"] == "ga_population" and source["last_alert"]["kind"] == "deadline"


def test_make_up_serves_every_dag_on_localhost_and_make_down_leaves_nothing(home: Path) -> None:
    from hub.ops.stack import expected_dags

    port = _free_port()
    env = _stack_env(home, HUB_AIRFLOW_PORT=port, HUB_API_PORT=_free_port())
    # A deadline no run can meet: the scheduler must fire the freshness alert for it.
    env["HUB_DEADLINE_GA_POPULATION_SECONDS"] = "1"
    try:
        up = _make("up", env)
        assert up.returncode == 0, up.stderr[-3000:]
        api = f"http://127.0.0.1:{port}"

        listed = requests.get(f"{api}/api/v2/dags", params={"limit": 1000}, timeout=10).json()["dags"]
        assert sorted(d["dag_id"] for d in listed) == expected_dags()
        assert requests.get(f"{api}/api/v2/importErrors", timeout=10).json()["total_entries"] == 0
        for dag_id in expected_dags():
            details = requests.get(f"{api}/api/v2/dags/{dag_id}/details", timeout=10).json()
            assert details["doc_md"] and details["doc_md"].startswith("# "), dag_id
        for pool in POOLS:
            assert requests.get(f"{api}/api/v2/pools/{pool.name}", timeout=10).json()["slots"] == pool.slots

        running = _stack_processes(home)
        names = {p.stem for p in (home / "run").glob("*.pid")}
        assert {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"} <= names
        for proc in running:
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    assert conn.laddr.ip == "127.0.0.1", (proc.name(), conn.laddr)
        assert (home / "logs" / "airflow-scheduler.log").exists()

        _deadline_alert_fires(api, home, env)
    finally:
        down = _make("down", env, timeout=180)
    assert down.returncode == 0, down.stderr[-3000:]
    assert running
    _, alive = psutil.wait_procs(running, timeout=10)
    assert alive == [], [(p.pid, p.name()) for p in alive]
    assert list((home / "run").glob("*.pid")) == []
    assert procs.port_free("127.0.0.1", port)


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
