"""The provincial platform simulator as a long-running process of the local stack (``hub up``).

:func:`provision` creates the simulator's database ``sim_province`` on the embedded server if it
is missing, and keeps in ``<home>/simulators/province/server.json`` (mode 0600) the app secret,
the port and the city's SM2 issuer key pair the platform verifies certificates with; a later
provision of the same home keeps all of them, so the platform's records and the hub's signatures
survive ``hub down`` / ``hub up``. It returns ``AIRFLOW_CONN_PROVINCIAL_PLATFORM`` and
``AIRFLOW_CONN_CERTIFICATE_SIGNER``. :func:`start` serves it in the background and waits until
it answers; stop it by its pid.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from simulators.city import CityPlan
from simulators.province.crypto import sm2_keypair
from simulators.province.provision import APP_ID, DATABASE, connection_values
from simulators.province.server import SECRET_ENV
from simulators.rs.provision import _free_port


def config_path(home: Path) -> Path:
    """Where :func:`provision` keeps the server's settings, credentials and the issuer key pair."""
    return Path(home) / "simulators" / "province" / "server.json"


def provision(plan: CityPlan, admin_uri: str, home: Path) -> dict[str, str]:
    """Create the platform's database if missing and its settings under ``home`` (kept if present).

    Returns:
        The ``AIRFLOW_CONN_*`` values of ``provincial_platform`` and ``certificate_signer``.
    """
    from hub.store.embedded import ensure_database

    path = config_path(home)
    config = json.loads(path.read_text()) if path.exists() else {}
    if not config.get("private_key"):
        config["private_key"], config["public_key"] = sm2_keypair()
    config.setdefault("app_secret", secrets.token_urlsafe(32))
    config.setdefault("port", _free_port())
    config["db"] = ensure_database(admin_uri, DATABASE)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(config, out)
    url = f"http://127.0.0.1:{config['port']}"
    return connection_values(url, APP_ID, config["app_secret"], config["private_key"], config["public_key"])


def start(home: Path, log_path: Path) -> subprocess.Popen:
    """Serve the provisioned platform of ``home`` in the background and wait until it answers.

    Raises:
        RuntimeError: if it exits or does not answer within 60 s.
    """
    import requests

    config = json.loads(config_path(home).read_text())
    cmd = [
        sys.executable,
        "-m",
        "simulators.province.server",
        "--port",
        str(config["port"]),
        "--database-uri",
        config["db"],
        "--app-id",
        APP_ID,
        "--signer-public-key",
        config["public_key"],
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, SECRET_ENV: config["app_secret"]}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{config['port']}/admin/stats"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"province simulator exited with code {process.returncode}; see {log_path}")
        try:
            if requests.get(url, timeout=2).ok:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"province simulator at {url} not ready after 60 s; see {log_path}")
