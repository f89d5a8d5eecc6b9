"""Preparing and starting the 人社 API simulator as a process (``python -m devkit simulate up``, the demo).

:func:`provision` (re)creates the simulator database ``sim_rs`` on the embedded server, picks
credentials and a port, writes ``<home>/simulators/rs/server.json`` (mode 0600) and returns the
``AIRFLOW_CONN_*`` value pointing the hub at it. :func:`server_command` is the command that
serves it (``python -m simulators.rs.server --config <that file>``); :func:`start` runs it in
the background and waits until it answers; stop it by its pid.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from simulators.city import CityPlan
from simulators.rs import insured

CONN_ENV = "AIRFLOW_CONN_RS_SOCIAL_INSURANCE"
APP_ID = "sharehub"


def config_path(home: Path) -> Path:
    """Where :func:`provision` keeps the server's settings and credentials."""
    return Path(home) / "simulators" / "rs" / "server.json"


def connection_json(base_url: str, app_id: str, app_secret: str, **extras: object) -> str:
    """The JSON ``AIRFLOW_CONN_RS_SOCIAL_INSURANCE`` value for the API at ``base_url`` (``http://host:port``)."""
    scheme, _, rest = base_url.partition("://")
    host, _, port = rest.partition(":")
    conn: dict[str, object] = {
        "conn_type": "http",
        "host": host,
        "port": int(port) if port else None,
        "schema": scheme,
        "login": app_id,
        "password": app_secret,
    }
    if extras:
        conn["extra"] = extras
    return json.dumps(conn)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def provision(plan: CityPlan, admin_uri: str, home: Path) -> dict[str, str]:
    """Create the simulator's data for ``plan`` and its server settings under ``home``.

    Credentials and the port are kept from an earlier provision of the same ``home``.

    Returns:
        ``{"AIRFLOW_CONN_RS_SOCIAL_INSURANCE": <connection JSON>}``.
    """
    from hub.store.embedded import ensure_database

    uri = ensure_database(admin_uri, insured.DATABASE)
    insured.create(uri, plan)
    path = config_path(home)
    old = json.loads(path.read_text()) if path.exists() else {}
    config = {
        "db": uri,
        "app_id": old.get("app_id", APP_ID),
        "app_secret": old.get("app_secret") or secrets.token_urlsafe(24),
        "persons": plan.persons,
        "seed": plan.seed,
        "port": old.get("port") or _free_port(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(config, out)
    base = f"http://127.0.0.1:{config['port']}"
    return {CONN_ENV: connection_json(base, config["app_id"], config["app_secret"])}


def server_command(home: Path) -> list[str]:
    """The command serving the provisioned simulator of ``home``."""
    return [sys.executable, "-m", "simulators.rs.server", "--config", str(config_path(home))]


def wait_ready(base_url: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Wait until the server at ``base_url`` answers ``/admin/health``.

    Raises:
        RuntimeError: if it does not within ``timeout`` seconds, or its process exits.
    """
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"人社 simulator exited with code {process.returncode}")
        try:
            if requests.get(base_url + "/admin/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"人社 simulator at {base_url} not ready after {timeout:g} s")


def start(home: Path, log_path: Path) -> subprocess.Popen:
    """Start the provisioned server of ``home`` in the background (output to ``log_path``) and wait for it."""
    config = json.loads(config_path(home).read_text())
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(server_command(home), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_ready(f"http://127.0.0.1:{config['port']}", process=process)
    return process
