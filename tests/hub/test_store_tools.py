"""``hub store psql``, ``hub store dump`` and ``hub store restore`` as the README's backup section runs them.

A store with a real ingest, departments, a SQL role with its views and an audit chain is dumped
with the wheel's pg_dump, restored into a new database on the same server and into a fresh
``$HUB_HOME`` (a restore drill), and the ledger rows, the data and the audit chain are the same.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from hub import registry
from hub.access import consumers, sqlviews
from hub.access.audit import AuditEvent, append, verify
from hub.cli import main
from hub.pipeline import run_ingest
from hub.store import embedded
from hub.store.tools import bin_path, client_args
from tests.conftest import ADMIN_URI, connection_env

TODAY = dt.date(2026, 11, 23)
HUB = [sys.executable, "-m", "hub.cli"]
LEDGER = "SELECT * FROM hub.ledger ORDER BY batch_id"
AUDIT = "SELECT seq, action, hash FROM access.audit ORDER BY seq"


def _rows(uri: str, query: str) -> list[tuple]:
    with psycopg.connect(uri) as conn:
        return conn.execute(query).fetchall()


def _hub(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HUB, *args], env=env, capture_output=True, text=True, timeout=300)


def _last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def _json_out(out: str) -> object:
    """The JSON document a command printed (from its first line that opens one)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() in ("[", "{", "[]") or line.startswith(("[{", '{"')))
    return json.loads("\n".join(lines[start:]))


def _dump(env: dict[str, str], file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``hub store dump FILE`` in-process (its subprocess form is exercised by the psql test's neighbours)."""
    monkeypatch.setenv("AIRFLOW_CONN_HUB_STORE", env["AIRFLOW_CONN_HUB_STORE"])
    assert main(["store", "dump", str(file)]) == 0


@pytest.fixture
def loaded(store: str, ga_source) -> str:
    """The store after a real 公安 ingest, two departments, one with SQL views, and reads audited."""
    entry = run_ingest(registry.get("ga_population"), "run-1", store=store, today=TODAY)
    assert entry.status == "succeeded" and entry.inserted > 0
    with psycopg.connect(store, autocommit=True) as conn:
        consumers.register(conn, "GA", "银川市公安局")
        consumers.register(conn, "MZ", "银川市民政局")
        sqlviews.enable(conn, "MZ")
        sqlviews.sync(conn, "MZ")
        for n in range(3):
            append(conn, AuditEvent("MZ", "query", "allowed", "shared.population", ("name",), n, "低保核对"))
    return store


@pytest.fixture
def env(loaded: str) -> dict[str, str]:
    """The environment of a `hub` command whose hub_store is the loaded store."""
    return {**os.environ, "AIRFLOW_CONN_HUB_STORE": connection_env(loaded), "PYTHONPATH": os.getcwd()}


def test_the_tools_are_the_wheels_and_match_the_servers_major_version(loaded: str) -> None:
    with psycopg.connect(loaded) as conn:
        server_major = conn.info.server_version // 10000
    for program in ("psql", "pg_dump", "pg_restore"):
        out = subprocess.run([str(bin_path(program)), "--version"], capture_output=True, text=True, check=True)
        assert out.stdout.split()[-1].split(".")[0] == str(server_major), out.stdout


def test_the_password_travels_in_the_environment_not_on_the_command_line() -> None:
    dsn, env = client_args("postgresql://hub:s3cret@db.example:5433/sharehub?sslmode=require")
    assert "s3cret" not in dsn and env["PGPASSWORD"] == "s3cret"
    assert "host=db.example" in dsn and "port=5433" in dsn and "dbname=sharehub" in dsn and "sslmode=require" in dsn


def test_psql_runs_on_the_store_and_passes_its_arguments_through(env: dict[str, str], loaded: str) -> None:
    args = ["-v", "ON_ERROR_STOP=1", "-At", "-c", "SELECT count(*) FROM hub.ledger", "-c", "SELECT * FROM no_such"]
    result = _hub(["store", "psql", *args], env)
    assert _last_line(result.stdout) == "1"  # the first query ran on the store...
    assert result.returncode != 0 and "no_such" in result.stderr  # ...and psql's own exit status comes back
    result = _hub(["store", "psql", "--database", "postgres", "-At", "-c", "SELECT current_database()"], env)
    assert result.returncode == 0 and _last_line(result.stdout) == "postgres", result.stderr


def test_dump_then_restore_into_a_new_database_keeps_ledger_data_and_audit_chain(
    env: dict[str, str], loaded: str, tmp_path: Path
) -> None:
    dump = tmp_path / "sharehub.dump"
    result = _hub(["store", "dump", str(dump)], env)
    assert result.returncode == 0, result.stderr
    assert dump.stat().st_size > 0 and f"to {dump}" in result.stdout
    assert not list(tmp_path.glob("*.partial"))
    assert "PGPASSWORD" not in result.stdout

    target = f"restored_{os.getpid()}"
    result = _hub(["store", "restore", str(dump), "--database", target], env)
    assert result.returncode == 0, result.stderr
    assert f"into new database {target}" in result.stdout
    restored = embedded.database_uri(ADMIN_URI, target)

    assert _rows(restored, LEDGER) == _rows(loaded, LEDGER)
    assert _rows(restored, AUDIT) == _rows(loaded, AUDIT)
    population = "SELECT id_number, record_hash FROM shared.population ORDER BY id_number"
    assert _rows(restored, population) == _rows(loaded, population)
    views = "SELECT table_name FROM information_schema.views WHERE table_schema = 'dept_mz' ORDER BY 1"
    assert _rows(restored, views) == _rows(loaded, views) != []

    # `hub audit verify` and `hub ledger` on the restored database, as an operator checks it
    on_restored = {**env, "AIRFLOW_CONN_HUB_STORE": connection_env(restored)}
    result = _hub(["audit", "verify", "--json"], on_restored)
    assert result.returncode == 0, result.stderr
    report = _json_out(result.stdout)
    assert report["ok"] and report["entries"] == len(_rows(loaded, AUDIT)) >= 6
    result = _hub(["ledger", "--json"], on_restored)
    assert result.returncode == 0, result.stderr
    batches = _json_out(result.stdout)
    assert [b["batch_id"] for b in batches] == [r[0] for r in _rows(loaded, "SELECT batch_id FROM hub.ledger")]

    # the restored chain is still a chain: tampering in the copy is detected there
    with psycopg.connect(restored, autocommit=True) as conn:
        conn.execute("ALTER TABLE access.audit DISABLE TRIGGER audit_no_update")
        conn.execute("UPDATE access.audit SET row_count = row_count + 1 WHERE seq = 2")
        assert not verify(conn).ok


def test_restore_refuses_a_non_empty_database_unless_told(
    env: dict[str, str], loaded: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    dump = tmp_path / "sharehub.dump"
    _dump(env, dump, monkeypatch)
    capsys.readouterr()
    before = _rows(loaded, LEDGER)

    assert main(["store", "restore", str(dump)]) == 2  # the store itself is not empty
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not empty" in err and "--database NAME" in err and "--overwrite" in err
    assert _rows(loaded, LEDGER) == before

    audit_before = _rows(loaded, AUDIT)
    with psycopg.connect(loaded, autocommit=True) as conn:  # changes after the dump...
        consumers.register(conn, "XX", "after the dump")
    assert main(["store", "restore", str(dump), "--overwrite"]) == 0  # ...are undone by restoring over them
    assert "restored" in capsys.readouterr().out
    assert _rows(loaded, LEDGER) == before
    assert _rows(loaded, AUDIT) == audit_before
    assert _rows(loaded, "SELECT 1 FROM access.department WHERE code = 'XX'") == []
    with psycopg.connect(loaded) as conn:
        assert verify(conn).ok

    missing = tmp_path / "nothing.dump"
    assert main(["store", "restore", str(missing), "--database", "never_created"]) == 2
    assert "does not exist" in capsys.readouterr().err
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("not a dump")
    assert main(["store", "restore", str(not_a_dump), "--database", "never_created"]) == 2
    assert "not a dump" in capsys.readouterr().err
    assert _rows(loaded, "SELECT 1 FROM pg_database WHERE datname = 'never_created'") == []


def test_a_restore_drill_into_a_fresh_hub_home(env: dict[str, str], loaded: str, tmp_path: Path, monkeypatch) -> None:
    dump = tmp_path / "sharehub.dump"
    _dump(env, dump, monkeypatch)
    drill = {k: v for k, v in env.items() if k != "AIRFLOW_CONN_HUB_STORE"} | {"HUB_HOME": str(tmp_path / "drill")}
    try:
        result = _hub(["store", "restore", str(dump)], drill)
        assert result.returncode == 0, result.stderr
        assert "into new database sharehub" in result.stdout
        role = _rows(loaded, "SELECT role_name FROM access.sql_access WHERE dept_code = 'MZ'")[0][0]
        db = role.removesuffix("_mz")  # the API's and the views owner's roles (migration 0810) too
        assert (
            f"created roles without login, as the dump grants to them: {db}__api, {db}__views, {role}" in result.stderr
        )
        result = _hub(["audit", "verify"], drill)
        assert result.returncode == 0 and "chain intact" in result.stdout, result.stdout + result.stderr
        query = "SELECT (SELECT count(*) FROM shared.population) || ' ' || (SELECT min(batch_id) FROM hub.ledger)"
        result = _hub(["store", "psql", "-At", "-c", query], drill)
        assert _last_line(result.stdout) == _rows(loaded, query)[0][0]
    finally:
        subprocess.run([*HUB, "store", "stop"], env=drill, capture_output=True, timeout=120)
