"""``python -m devkit simulate up|down`` as a user runs it: five simulators for one city, servers stopped by pid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import requests

pytestmark = pytest.mark.e2e


def test_simulate_up_provisions_all_five_and_down_stops_the_servers(tmp_path: Path) -> None:
    from hub.registry import SOURCES

    hub = Path(sys.executable).parent / "hub"
    devkit = [sys.executable, "-m", "devkit"]
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["HUB_HOME"] = str(tmp_path / "home")
    run = tmp_path / "home" / "run"
    try:
        up = subprocess.run([*devkit, "simulate", "up", "--scale", "400"], capture_output=True, text=True, env=env,
                            timeout=300, cwd=repo)  # fmt: skip
        assert up.returncode == 0, up.stderr[-2000:]
        exported = (run / "simulators.env").read_text()
        assert oct((run / "simulators.env").stat().st_mode & 0o777) == "0o600"
        for spec in SOURCES:
            assert f"AIRFLOW_CONN_{spec.conn_id.upper()}=" in exported, spec.name
        rs_conn = json.loads(
            json.loads((run / "simulators.json").read_text())["env"]["AIRFLOW_CONN_RS_SOCIAL_INSURANCE"]
        )
        assert requests.get(f"http://127.0.0.1:{rs_conn['port']}/admin/health", timeout=5).ok
        pid = int((run / "sim-rs_social_insurance.pid").read_text().split()[0])
        again = subprocess.run([*devkit, "simulate", "up", "--scale", "400"], capture_output=True, text=True,
                               env=env, timeout=300, cwd=repo)  # fmt: skip
        assert again.returncode == 0 and int((run / "sim-rs_social_insurance.pid").read_text().split()[0]) == pid
        down = subprocess.run(
            [*devkit, "simulate", "down"], capture_output=True, text=True, env=env, timeout=120, cwd=repo
        )
        assert down.returncode == 0 and "sim-rs_social_insurance" in down.stdout
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert not list(run.glob("sim-*.pid"))
    finally:
        subprocess.run([*devkit, "simulate", "down"], env=env, capture_output=True, timeout=120, cwd=repo)
        subprocess.run([str(hub), "store", "stop"], env=env, capture_output=True, timeout=120)
