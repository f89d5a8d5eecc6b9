"""``hub api serve --workers N``: several processes on one socket, sharing the keys cursors and digests need."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import psutil
import pytest

from hub.access.keyconfig import KeyConfigError
from hub.api.server import workers_setting
from hub.cli import main
from tests.access.conftest import Hub, client
from tests.conftest import connection_env

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw", ["0", "65", "two", "-1", "1.5"])
def test_a_bad_number_of_workers_is_named(raw: str) -> None:
    with pytest.raises(KeyConfigError, match="whole number from 1 to 64"):
        workers_setting(raw)


def test_workers_come_from_the_option_then_the_environment(monkeypatch, capsys) -> None:
    monkeypatch.delenv("HUB_API_WORKERS", raising=False)
    assert workers_setting() == 1
    monkeypatch.setenv("HUB_API_WORKERS", "2")
    assert workers_setting() == 2 and workers_setting("3") == 3
    monkeypatch.setenv("HUB_API_WORKERS", "lots")
    assert main(["api", "serve", "--port", "0"]) == 2
    assert "HUB_API_WORKERS" in capsys.readouterr().err


def test_two_workers_serve_and_accept_each_others_cursors(hub_store: Hub) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HUB_API_CURSOR_KEY", "HUB_AUDIT_DIGEST_KEY")}
    env |= {"AIRFLOW_CONN_HUB_STORE": connection_env(hub_store.uri), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "api", "serve", "--port", "0", "--workers", "2"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(240, proc.kill)  # never hang the suite on a server that stays silent
    watchdog.start()
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (url, proc.poll())
        assert httpx.get(f"{url}/openapi.json", timeout=60).status_code == 200
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert len([p for p in workers if "python" in p.name().lower()]) >= 2
        # one connection per page: pages land on either worker, and every cursor verifies on both
        seen: list[str] = []
        after = None
        for _ in range(100):
            with client(url, hub_store.keys["GA"]) as http:
                body = {"fields": ["id_number"], "limit": 60} | ({"after": after} if after else {})
                r = http.post("/v1/resources/640100-GA-0001/query", json=body, headers={"Connection": "close"})
            assert r.status_code == 200, r.text
            seen += [row["id_number"] for row in r.json()["rows"]]
            after = r.json()["next_cursor"]
            if after is None:
                break
        with hub_store.connect() as conn:
            total = conn.execute("SELECT count(*) FROM shared.population").fetchone()[0]
        assert after is None and len(seen) == total  # masked values repeat; the count says every row came once
        proc.send_signal(signal.SIGINT)
        _, errors = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in errors and "random key for this server only" in errors, errors
