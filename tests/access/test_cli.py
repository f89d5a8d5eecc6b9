"""The ``hub catalog``, ``hub access`` and ``hub objections`` commands on a real store."""

from __future__ import annotations

import json
import re

import psycopg

from hub.access import consumers
from hub.cli import main
from schemas.model import Sharing
from schemas.tables import TABLES


def test_catalog_lists_declared_resources(store: str, capsys) -> None:
    assert main(["catalog", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    codes = {e["code"]: e for e in entries}
    assert {"640100-GA-0001", "640100-RS-0001", "640100-YB-0001", "640100-SC-0001", "640100-ZW-0001"} <= set(codes)
    assert codes["640100-GA-0001"]["row_count"] == 0 and codes["640100-GA-0001"]["last_update"] is None
    assert main(["catalog"]) == 0
    text = capsys.readouterr().out
    assert "640100-GA-0001" in text and "无条件共享" in text and "phone" in text and "personal:identifier" in text
    id_line = next(
        line for line in text.splitlines() if line.strip().startswith("id_number") and "公民身份号码" in line
    )
    assert "hides:birth_date,birth_year,id_number" in id_line


def test_register_apply_approve_refuse_rotate_and_sql(store: str, capsys) -> None:
    assert main(["access", "register", "--dept", "MZ", "--name", "银川市民政局"]) == 0
    token = re.search(r"(shk_\S+)", capsys.readouterr().out).group(1)
    with psycopg.connect(store) as conn:
        assert consumers.authenticate(conn, token) == "MZ"
        stored = conn.execute("SELECT digest FROM access.api_key").fetchone()[0]
    assert token.split(".")[1].encode() not in bytes(stored)
    main(["access", "register", "--dept", "RS"])
    capsys.readouterr()
    args = ["access", "apply", "--dept", "MZ", "--resource", "640100-RS-0001", "--fields", "person_no,status"]
    assert main([*args, "--purpose", "低保家庭经济状况核对"]) == 0
    assert "#1" in capsys.readouterr().out
    assert main(["access", "approve", "--id", "1", "--dept", "RS", "--days", "30"]) == 0
    assert main([*args, "--purpose", "again"]) == 0
    assert main(["access", "refuse", "--id", "2", "--dept", "RS", "--reason", "已有有效授权"]) == 0
    assert main(["access", "rotate", "--dept", "MZ"]) == 0
    assert main(["access", "sql", "--dept", "MZ"]) == 0
    out = capsys.readouterr().out
    assert "approved until" in out and "refused" in out and "schema dept_mz" in out
    with psycopg.connect(store) as conn:
        statuses = conn.execute("SELECT status FROM access.application ORDER BY id").fetchall()
        views = conn.execute("SELECT count(*) FROM information_schema.views WHERE table_schema = 'dept_mz'").fetchone()
    unconditional = [t for t in TABLES.values() if t.sharing is Sharing.UNCONDITIONAL]
    assert statuses == [("approved",), ("refused",)] and views[0] == len(unconditional) + 1  # + the granted one
    assert main(["access", "refuse", "--id", "1", "--dept", "RS"]) == 2
    assert "required: --reason" in capsys.readouterr().err
    assert main(["objections", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
