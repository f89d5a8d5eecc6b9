"""The audit log is append-only and its SM3 chain detects modified and deleted entries."""

from __future__ import annotations

import json

import psycopg
import pytest

from hub.access import audit
from hub.access.audit import AuditEvent
from hub.cli import main
from hub.store.migrate import migrate
from tests.conftest import connection_env, fresh_database


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    uri = fresh_database("audit")
    migrate(uri)
    monkeypatch.setenv("AIRFLOW_CONN_HUB_STORE", connection_env(uri))
    monkeypatch.setenv("AIRFLOW_CONN_AUDIT_CHECKPOINT", json.dumps({"conn_type": "generic", "password": "k" * 32}))
    monkeypatch.setenv("HUB_AUDIT_CHECKPOINTS", str(tmp_path / "checkpoints.jsonl"))
    with psycopg.connect(uri, autocommit=True) as conn:
        for i in range(6):
            audit.append(conn, AuditEvent("MZ", "query", "allowed", "shared.population", ["name"], i, "低保审核"))
    return uri


def _tamper(uri: str, sql: str) -> None:
    """What a superuser could still do: bypass the append-only trigger for one statement."""
    with psycopg.connect(uri, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(sql)


def test_intact_chain_verifies_and_cli_says_so(log: str, capsys) -> None:
    with psycopg.connect(log) as conn:
        report = audit.verify(conn)
        first = conn.execute("SELECT prev_hash, hash FROM access.audit WHERE seq = 1").fetchone()
    assert report.ok and report.entries == 6
    assert first[0] == audit.GENESIS and len(first[1]) == 64
    assert main(["audit", "verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"entries": 6, "checkpoints": 0, "ok": True, "problems": []}


def test_update_delete_and_truncate_are_refused(log: str) -> None:
    with psycopg.connect(log, autocommit=True) as conn:
        for sql in (
            "UPDATE access.audit SET row_count = 0",
            "DELETE FROM access.audit WHERE seq = 2",
            "TRUNCATE access.audit",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(sql)


def test_a_modified_entry_is_detected(log: str, capsys) -> None:
    _tamper(log, "UPDATE access.audit SET row_count = 99999 WHERE seq = 3")
    with psycopg.connect(log) as conn:
        report = audit.verify(conn)
    assert report.problems == ["entry 3: content does not match its hash (modified)"]
    assert main(["audit", "verify"]) == 1
    assert "CHAIN BROKEN" in capsys.readouterr().out


def test_a_modified_entry_with_a_recomputed_hash_breaks_the_next_link(log: str) -> None:
    with psycopg.connect(log) as conn:
        row = conn.execute(
            "SELECT seq, at, dept_code, action, resource, fields, row_count, purpose, outcome, detail, prev_hash "
            "FROM access.audit WHERE seq = 4"
        ).fetchone()
    ev = AuditEvent(row[2], row[3], row[8], row[4], row[5], 0, row[7], row[9])
    forged = audit._digest(row[10], row[0], row[1], ev)
    _tamper(log, f"UPDATE access.audit SET row_count = 0, hash = '{forged}' WHERE seq = 4")
    with psycopg.connect(log) as conn:
        assert audit.verify(conn).problems == ["entry 5: chain broken after entry 4 (entries missing or reordered)"]


def test_a_deleted_entry_is_detected(log: str) -> None:
    _tamper(log, "DELETE FROM access.audit WHERE seq = 2")
    with psycopg.connect(log) as conn:
        assert audit.verify(conn).problems == ["entry 3: chain broken after entry 1 (entries missing or reordered)"]


def test_a_deleted_last_entry_is_detected(log: str) -> None:
    _tamper(log, "DELETE FROM access.audit WHERE seq = 6")
    with psycopg.connect(log) as conn:
        problems = audit.verify(conn).problems
    assert problems == ["head is entry 6 but the log ends at entry 5 (entries deleted at the end)"]
