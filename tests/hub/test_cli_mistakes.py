"""Every ordinary mistake at the ``hub`` command line: one line on stderr, nothing on stdout, exit 2.

Each case runs ``python -m hub.cli`` as its own process against a real store, as an operator would.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from hub.access import catalogue, consumers, grants
from tests.hub.hubcli import hub_env, run_hub, store_env


@pytest.fixture(scope="module")
def approved(module_store: str) -> int:
    """Departments GA (provider) and MZ registered; MZ's application for GA's population approved once."""
    with psycopg.connect(module_store, autocommit=True) as conn:
        consumers.register(conn, "GA", "银川市公安局")
        consumers.register(conn, "MZ", "银川市民政局")
        table = catalogue.resolve("640100-GA-0001")
        app_id = grants.apply(conn, "MZ", table, ["name", "status"], "低保家庭经济状况核对")
        grants.approve(conn, app_id, "GA")
    return app_id


APPLY = ["access", "apply", "--purpose", "x"]
MISTAKES = {
    "register-twice": (["access", "register", "--dept", "MZ"], "hub access register: department MZ is already"),
    "apply-unknown-field": (
        [*APPLY, "--dept", "MZ", "--resource", "640100-GA-0001", "--fields", "name,nosuch"],
        "640100-GA-0001 has no field nosuch; its fields: id_number, name",
    ),
    "apply-unknown-resource": (
        [*APPLY, "--dept", "MZ", "--resource", "nosuch", "--fields", "name"],
        "unknown resource 'nosuch'; known: 640100-GA-0001",
    ),
    "apply-unregistered-department": (
        [*APPLY, "--dept", "NOSUCH", "--resource", "640100-GA-0001", "--fields", "name"],
        "department NOSUCH is not registered (registered: GA, MZ)",
    ),
    "approve-as-wrong-provider": (["access", "approve", "--id", "{app}", "--dept", "RS"], "RS cannot decide it"),
    "approve-twice": (["access", "approve", "--id", "{app}", "--dept", "GA"], "is already approved"),
    "approve-unknown-application": (["access", "approve", "--id", "9999", "--dept", "GA"], "no application #9999"),
    "approve-as-unknown-provider": (
        ["access", "approve", "--id", "{app}", "--dept", "XX"],
        "unknown provider department 'XX'; known: GA",
    ),
    "refuse-without-reason": (["access", "refuse", "--id", "{app}", "--dept", "GA"], "required: --reason"),
    "revoke-unknown-key": (["access", "revoke-key", "--key-id", "nosuch"], "no API key with id 'nosuch'"),
    "rotate-unknown-department": (["access", "rotate", "--dept", "NOSUCH"], "department NOSUCH is not registered"),
    "sql-unknown-department": (["access", "sql", "--dept", "NOSUCH"], "department NOSUCH is not registered"),
    "calendar-load-missing-file": (["calendar", "load", "--file", "{missing}"], "missing.csv: no such file"),
    "calendar-add-bad-date": (
        ["calendar", "add", "--date", "2027-13-01", "--kind", "holiday", "--name", "x"],
        "'2027-13-01' is not a date; write YYYY-MM-DD",
    ),
    "quarantine-replay-unknown-source": (
        ["quarantine", "replay", "--source", "nosuch"],
        "unknown source 'nosuch'; known: ga_population",
    ),
    "quarantine-show-unknown-id": (["quarantine", "show", "--id", "424242"], "no quarantine record 424242"),
    "ledger-unknown-source": (["ledger", "--source", "nosuch"], "hub ledger: argument --source: unknown source"),
    "objections-unknown-department": (["objections", "--dept", "NOSUCH"], "department NOSUCH is not registered"),
    "unknown-command": (["nosuch"], "invalid choice: 'nosuch'"),
    "no-command": ([], "hub: the following arguments are required: COMMAND"),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_a_mistake_is_one_line_on_stderr_and_exit_2(
    case: str, module_store: str, approved: int, tmp_path: Path
) -> None:
    args, expected = MISTAKES[case]
    args = [a.format(app=approved, missing=tmp_path / "missing.csv") for a in args]
    runtime = tmp_path / "xdg"  # a runtime dir, so that stderr holds nothing but the message
    runtime.mkdir(mode=0o700)
    done = run_hub(args, store_env(module_store, XDG_RUNTIME_DIR=str(runtime)))
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hub"), done.stderr
    assert expected in lines[0]


def test_a_refused_mistake_changes_nothing(module_store: str, approved: int) -> None:
    with psycopg.connect(module_store) as conn:
        departments = conn.execute("SELECT code FROM access.department ORDER BY code").fetchall()
        applications = conn.execute("SELECT id, status FROM access.application ORDER BY id").fetchall()
        roles = conn.execute("SELECT count(*) FROM access.sql_access").fetchone()[0]
    assert departments == [("GA",), ("MZ",)] and applications == [(approved, "approved")] and roles == 0


def test_an_unreachable_store_is_one_line_and_exit_1(tmp_path: Path) -> None:
    from hub.api.server import free_port

    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    nowhere = f"postgresql://hub@127.0.0.1:{free_port()}/sharehub"
    done = run_hub(["ledger"], hub_env(AIRFLOW_CONN_HUB_STORE=nowhere, XDG_RUNTIME_DIR=str(runtime)))
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hub ledger: cannot reach the store (connection failed"), lines
    assert "AIRFLOW_CONN_HUB_STORE" in lines[0]
