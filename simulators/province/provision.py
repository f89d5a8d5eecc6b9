"""Stand up a simulated provincial platform and the connections that point the hub at it.

:func:`provision` creates the simulator's database, a fresh app secret and SM2 issuer key pair,
starts the server (a child process by default, or a thread) on a free loopback port, and
returns the ``AIRFLOW_CONN_*`` values for ``provincial_platform`` and ``certificate_signer``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simulators.province.faults import FaultConfig

DATABASE = "sim_province"
APP_ID = "640100"


@dataclass
class Provisioned:
    """A running simulated platform and how to reach it."""

    url: str
    env: dict[str, str]
    database_uri: str
    public_key: str
    _stop: Any = field(repr=False, default=None)

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Switch faults on or off (``POST /admin/faults``); returns the whole configuration."""
        import requests

        resp = requests.post(f"{self.url}/admin/faults", json=changes, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def stats(self) -> dict[str, int]:
        """Requests seen and faults injected so far (``GET /admin/stats``)."""
        import requests

        resp = requests.get(f"{self.url}/admin/stats", timeout=10)
        resp.raise_for_status()
        return resp.json()

    def batches(self) -> list[dict[str, Any]]:
        """Batch ids the platform received, in order, with how often each arrived (``GET /admin/batches``)."""
        import requests

        resp = requests.get(f"{self.url}/admin/batches", timeout=10)
        resp.raise_for_status()
        return resp.json()

    def stop(self) -> None:
        """Stop the simulator."""
        if self._stop is not None:
            self._stop()
            self._stop = None


def connection_values(
    url: str, app_id: str, secret: str, private_key: str, public_key: str, client: dict[str, Any] | None = None
) -> dict[str, str]:
    """``AIRFLOW_CONN_PROVINCIAL_PLATFORM`` and ``AIRFLOW_CONN_CERTIFICATE_SIGNER`` for a platform at ``url``."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    platform = {
        "conn_type": "http",
        "host": host,
        "port": int(port),
        "login": app_id,
        "password": secret,
        "extra": {"scheme": "http", **(client or {})},
    }
    signer = {"conn_type": "generic", "password": private_key, "extra": {"scheme": "sm2", "public_key": public_key}}
    return {
        "AIRFLOW_CONN_PROVINCIAL_PLATFORM": json.dumps(platform),
        "AIRFLOW_CONN_CERTIFICATE_SIGNER": json.dumps(signer),
    }


def provision(
    admin_uri: str,
    database: str = DATABASE,
    faults: FaultConfig | None = None,
    client: dict[str, Any] | None = None,
    in_thread: bool = False,
    reset: bool = True,
) -> Provisioned:
    """Create the simulator's database and start the simulator.

    Args:
        admin_uri: URI of a PostgreSQL server where ``database`` may be created (the embedded one).
        database: The simulator's own database.
        faults: Faults to inject from the start (default: none beyond the 20 req/s quota).
        client: Extra client settings for the connection (``timeout``, ``backoff_base``, ...).
        in_thread: Serve from a thread of this process instead of a child process.
        reset: Drop and recreate the database first.

    Returns:
        The running platform with the ``AIRFLOW_CONN_*`` values in ``env``.
    """
    import psycopg
    from psycopg import sql

    from hub.store.embedded import database_uri
    from simulators.province.crypto import sm2_keypair

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        if reset:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    uri = database_uri(admin_uri, database)
    secret = secrets.token_urlsafe(32)
    private, public = sm2_keypair()
    faults = faults or FaultConfig()
    if in_thread:
        from simulators.province.server import PlatformSettings, RunningPlatform

        running = RunningPlatform(PlatformSettings(uri, APP_ID, secret, public, faults=faults))
        url, stop = running.url, running.stop
    else:
        url, stop = _start_process(uri, secret, public, faults)
    return Provisioned(url, connection_values(url, APP_ID, secret, private, public, client), uri, public, stop)


def _start_process(uri: str, secret: str, public_key: str, faults: FaultConfig) -> tuple[str, Any]:
    from simulators.province.server import SECRET_ENV

    ready = Path(tempfile.mkdtemp(prefix="sim-province-")) / "url"
    cmd = [
        sys.executable,
        "-m",
        "simulators.province.server",
        "--port",
        "0",
        "--database-uri",
        uri,
        "--app-id",
        APP_ID,
        "--signer-public-key",
        public_key,
        "--faults",
        json.dumps(asdict(faults)),
        "--ready-file",
        str(ready),
    ]
    env = {**os.environ, SECRET_ENV: secret}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not ready.exists() or not ready.read_text().strip():
        if proc.poll() is not None:
            raise RuntimeError(
                f"province simulator exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("province simulator did not start within 60 s")
        time.sleep(0.05)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    return ready.read_text().strip(), stop
