"""A fixture running the real 人社 API simulator (a uvicorn process on 127.0.0.1, a free port).

Import ``rs_server`` into a test module to use it; :class:`RsServer` drives the faults and
the days of changes through the simulator's admin endpoints.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from simulators.city import CityPlan
from simulators.rs import insured
from simulators.rs.provision import connection_json, wait_ready
from tests.conftest import fresh_database

PLAN = CityPlan(1000, 11)


@dataclass
class RsServer:
    """A running simulator and what a test needs to talk to it."""

    base_url: str
    app_id: str
    app_secret: str
    db_uri: str
    plan: CityPlan
    process: subprocess.Popen

    def faults(self, **settings: Any) -> dict[str, Any]:
        """Set fault settings; return faults and counters."""
        reply = requests.post(self.base_url + "/admin/faults", json=settings, timeout=10)
        reply.raise_for_status()
        return reply.json()

    def counters(self) -> dict[str, int]:
        """What the server did so far."""
        return requests.get(self.base_url + "/admin/faults", timeout=10).json()["counters"]

    def day(self, k: int) -> dict[str, int]:
        """Apply day ``k`` of changes at the source."""
        reply = requests.post(self.base_url + "/admin/day", json={"day": k}, timeout=60)
        reply.raise_for_status()
        return reply.json()

    def connection(self, **extras: Any) -> str:
        """The ``AIRFLOW_CONN_RS_SOCIAL_INSURANCE`` value for this server."""
        return connection_json(self.base_url, self.app_id, self.app_secret, **extras)

    def rows(self) -> list[tuple[str, str, str]]:
        """``(grbh, xzlx, gxsj)`` of every row the simulator holds, as stored."""
        import psycopg

        with psycopg.connect(self.db_uri) as conn:
            return conn.execute(f"SELECT grbh, xzlx, gxsj FROM {insured.TABLE} ORDER BY grbh, xzlx").fetchall()

    def stop(self) -> None:
        """Stop the server process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(tmp: Path, plan: CityPlan = PLAN, db_uri: str | None = None, faults: dict | None = None) -> RsServer:
    """Create the data (unless ``db_uri`` holds it already) and start a server process on a free port."""
    if db_uri is None:
        db_uri = fresh_database("sim_rs")
        insured.create(db_uri, plan)
    secret = secrets.token_urlsafe(16)
    port_file = tmp / f"rs-port-{secrets.token_hex(4)}"
    argv = [sys.executable, "-m", "simulators.rs.server", "--db", db_uri, "--port", "0", "--port-file", str(port_file)]
    argv += ["--persons", str(plan.persons), "--seed", str(plan.seed), "--app-id", "hub-test"]
    for name, value in (faults or {}).items():
        argv += ["--fault", f"{name}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {"RS_SIM_APP_SECRET": secret}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"simulator did not start: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port_file.read_text().strip()}"
    wait_ready(base, process=process)
    return RsServer(base, "hub-test", secret, db_uri, plan, process)


@pytest.fixture
def rs_server(tmp_path: Path) -> Iterator[RsServer]:
    """A 人社 simulator process over a 1,000-person city (about 1,500 rows), faults off."""
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def page_json(server: RsServer, **params: Any) -> dict[str, Any]:
    """One page fetched directly (a fresh token), for tests of the server itself."""
    token = requests.post(
        server.base_url + "/api/v1/token", json={"app_id": server.app_id, "app_secret": server.app_secret}, timeout=10
    ).json()["access_token"]
    reply = requests.get(
        server.base_url + "/api/v1/insured-persons",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    reply.raise_for_status()
    return json.loads(reply.text)
