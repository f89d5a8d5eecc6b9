"""Signed checkpoints outside the store: a superuser's rewrites of the audit are detected.

Each attack runs against the real store as its superuser, with the append-only triggers
silenced by ``session_replication_role = replica``, the way a rogue operator would.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import psycopg
import pytest

from hub.access import audit, checkpoint
from hub.access.audit import AuditEvent
from hub.cli import main
from hub.store.migrate import migrate
from tests.conftest import connection_env, fresh_database

KEY = "k" * 40


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    uri = fresh_database("auditcp")
    migrate(uri)
    monkeypatch.setenv("AIRFLOW_CONN_HUB_STORE", connection_env(uri))
    monkeypatch.setenv("AIRFLOW_CONN_AUDIT_CHECKPOINT", json.dumps({"conn_type": "generic", "password": KEY}))
    monkeypatch.setenv("HUB_AUDIT_CHECKPOINTS", str(tmp_path / "audit" / "checkpoints.jsonl"))
    _append(uri, 3)
    assert main(["audit", "checkpoint"]) == 0  # signs entry 3
    _append(uri, 3)
    assert main(["audit", "checkpoint"]) == 0  # signs entry 6
    return uri


def _append(uri: str, n: int) -> None:
    with psycopg.connect(uri, autocommit=True) as conn:
        for i in range(n):
            audit.append(conn, AuditEvent("MZ", "query", "allowed", "shared.population", ["name"], i, "低保审核"))


def _tamper(uri: str, *statements: str) -> None:
    """A superuser bypasses the append-only triggers (replica mode) for a few statements."""
    with psycopg.connect(uri, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for sql in statements:
            conn.execute(sql)


def _rechain(uri: str, first: int) -> None:
    """Recompute every hash from entry ``first`` on and the head, as an attacker who knows the scheme."""
    with psycopg.connect(uri, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        rows = conn.execute(
            "SELECT seq, at, dept_code, action, resource, fields, row_count, purpose, outcome, detail, prev_hash "
            "FROM access.audit WHERE seq >= %s ORDER BY seq",
            (first,),
        ).fetchall()
        prev = rows[0][10]
        for seq, at, dept, action, resource, fields, n, purpose, outcome, detail, _ in rows:
            digest = audit._digest(
                prev, seq, at, AuditEvent(dept, action, outcome, resource, fields, n, purpose, detail)
            )
            conn.execute("UPDATE access.audit SET prev_hash = %s, hash = %s WHERE seq = %s", (prev, digest, seq))
            prev = digest
        conn.execute("UPDATE access.audit_head SET seq = %s, hash = %s", (rows[-1][0], prev))


def _verify(capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["audit", "verify", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_checkpoints_are_appended_privately_and_verify(log: str, capsys) -> None:
    path = checkpoint.checkpoint_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [cp["seq"] for cp in lines] == [3, 6]
    assert all(len(cp["mac"]) == 64 for cp in lines)
    code, out = _verify(capsys)
    assert (code, out) == (0, {"entries": 6, "checkpoints": 2, "ok": True, "problems": []})
    with psycopg.connect(log) as conn:  # another key does not match: the MAC depends on the secret
        assert checkpoint.verify(conn, key=b"x" * 40)[1][0].endswith(
            "signature does not match (checkpoint file edited, or another key)"
        )


def test_truncation_is_detected(log: str, capsys) -> None:
    _tamper(log, "TRUNCATE access.audit", "DELETE FROM access.audit_head")
    code, out = _verify(capsys)
    assert code == 1 and out["entries"] == 0
    assert out["problems"][0] == (
        f"checkpoint at line 1 (entry 3, signed {_signed(1)}): the log ends at entry 0 "
        "(entries 1..3 deleted: tail cut or truncated)"
    )


def test_a_cut_tail_with_a_fixed_head_is_detected(log: str, capsys) -> None:
    _tamper(
        log,
        "DELETE FROM access.audit WHERE seq > 4",
        "UPDATE access.audit_head SET seq = 4, hash = (SELECT hash FROM access.audit WHERE seq = 4)",
    )
    with psycopg.connect(log) as conn:
        assert audit.verify(conn).ok  # the chain alone cannot tell
    code, out = _verify(capsys)
    assert code == 1
    assert out["problems"] == [
        f"checkpoint at line 2 (entry 6, signed {_signed(2)}): the log ends at entry 4 "
        "(entries 5..6 deleted: tail cut or truncated)"
    ]


def test_an_edit_re_chained_is_detected_and_located(log: str, capsys) -> None:
    _tamper(log, "UPDATE access.audit SET row_count = 0, purpose = '无' WHERE seq = 5")
    _rechain(log, 5)
    with psycopg.connect(log) as conn:
        assert audit.verify(conn).ok  # a consistent, rewritten chain
    code, out = _verify(capsys)
    assert code == 1
    assert out["problems"] == [
        f"checkpoint at line 2 (entry 6, signed {_signed(2)}): entry 6's hash differs from the signed one: "
        "entries 4..6 were rewritten and re-chained (entry 3 still matches the previous checkpoint)"
    ]


def test_replica_mode_edit_without_re_chaining_is_detected_by_both(log: str, capsys) -> None:
    _tamper(log, "UPDATE access.audit SET hash = repeat('0', 64) WHERE seq = 3")
    code, out = _verify(capsys)
    assert code == 1
    assert out["problems"][0] == "entry 3: content does not match its hash (modified)"
    assert any(p.startswith("checkpoint at line 1 (entry 3") and "rewritten" in p for p in out["problems"])


def test_an_edited_checkpoint_file_is_detected(log: str, capsys) -> None:
    path = checkpoint.checkpoint_file()
    lines = path.read_text().splitlines()
    forged = json.loads(lines[1]) | {"seq": 5}
    path.write_text(lines[0] + "\n" + json.dumps(forged) + "\nnot json\n")
    code, out = _verify(capsys)
    assert code == 1
    assert out["problems"] == [
        f"checkpoint file {path} line 3: not a checkpoint (file edited)",
        f"checkpoint at line 2 (entry 5, signed {_signed(2)}): signature does not match "
        "(checkpoint file edited, or another key)",
    ]


def test_verify_names_the_checkpoint_in_text(log: str, capsys) -> None:
    _tamper(
        log,
        "DELETE FROM access.audit WHERE seq > 3",
        "UPDATE access.audit_head SET seq = 3, hash = (SELECT hash FROM access.audit WHERE seq = 3)",
    )
    capsys.readouterr()
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "6 entries" not in out and "3 entries: chain intact; 2 checkpoints DO NOT MATCH" in out
    assert "checkpoint at line 2 (entry 6" in out


def test_an_external_store_needs_the_key_connection(log: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_AUDIT_CHECKPOINT", json.dumps({"conn_type": "generic", "password": "short"}))
    capsys.readouterr()
    assert main(["audit", "checkpoint"]) == 2
    assert "must have at least 32 characters (it has 5)" in capsys.readouterr().err


def _signed(line: int) -> str:
    return json.loads(checkpoint.checkpoint_file().read_text().splitlines()[line - 1])["at"]
