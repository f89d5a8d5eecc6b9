"""Least privilege in the store: the API's role, password authentication, no adopted roles."""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import sql

from hub.access import audit, sqlviews
from hub.access.audit import AuditEvent
from hub.cli import main
from hub.store.connection import api_store_uri
from hub.store.roles import local_api_uri, provision_api_login, with_login
from tests.access.conftest import Hub


def test_department_roles_need_their_password(hub_store: Hub) -> None:
    dept, _ = hub_store.new_department("P")
    with hub_store.connect() as conn:
        role, password = sqlviews.enable(conn, dept)
        stored = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()[0]
    assert stored.startswith("SCRAM-SHA-256$")
    for wrong in ("", "not-the-password"):
        with pytest.raises(psycopg.OperationalError, match=r"password authentication failed|no password supplied"):
            psycopg.connect(with_login(hub_store.uri, role, wrong)).close()
    with psycopg.connect(with_login(hub_store.uri, role, password)) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == role


def test_hub_access_sql_refuses_to_adopt_an_existing_role(hub_store: Hub, capsys) -> None:
    dept, _ = hub_store.new_department("P")
    with hub_store.connect() as conn:
        role = sqlviews.role_name(conn, dept)
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(role)))
    assert main(["access", "sql", "--dept", dept]) == 2
    err = capsys.readouterr().err
    assert f"a PostgreSQL role {role} already exists and was not created for department {dept}" in err
    with hub_store.connect() as conn:  # left as it was: no views, no rights, still its own attributes
        assert conn.execute("SELECT rolcreatedb FROM pg_roles WHERE rolname = %s", (role,)).fetchone()[0]
        assert not conn.execute("SELECT 1 FROM access.sql_access WHERE dept_code = %s", (dept,)).fetchone()
        assert not conn.execute("SELECT to_regnamespace(%s)", (sqlviews.schema_name(dept),)).fetchone()[0]


def test_hub_access_sql_resets_the_departments_own_role(hub_store: Hub, capsys) -> None:
    dept, _ = hub_store.new_department("P")
    with hub_store.connect() as conn:
        role, first = sqlviews.enable(conn, dept)
    assert main(["access", "sql", "--dept", dept]) == 0
    second = capsys.readouterr().out.split("(password shown once): ")[1].split(";")[0]
    assert second != first
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(with_login(hub_store.uri, role, first)).close()
    psycopg.connect(with_login(hub_store.uri, role, second)).close()


def test_the_api_role_cannot_rewrite_the_audit(hub_store: Hub) -> None:
    api = local_api_uri(hub_store.uri)
    with psycopg.connect(api, autocommit=True) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
        assert conn.execute("SELECT count(*) FROM shared.population").fetchone()[0] > 0
        audit.append(conn, AuditEvent("MZ", "query", "allowed", "shared.population", ["name"], 1, "测试"))
        for attack in (
            "UPDATE access.audit SET row_count = 0",
            "DELETE FROM access.audit",
            "TRUNCATE access.audit",
            "SET session_replication_role = replica",
            "ALTER TABLE access.audit DISABLE TRIGGER audit_no_update",
            "DELETE FROM access.api_key",
            "CREATE TABLE shared.sneaky (x int)",
            "INSERT INTO shared.population (id_number) VALUES ('x')",
            "SELECT count(*) FROM hub.ledger",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(attack)
    with hub_store.connect() as conn:
        assert audit.verify(conn).ok


def test_the_api_never_connects_as_the_owner(hub_store: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import urlsplit

    api = api_store_uri()  # no hub_store_api connection: the API role with a password under $HUB_HOME
    assert urlsplit(api).username == urlsplit(hub_store.uri).path.lstrip("/") + "__api"
    with psycopg.connect(api) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
    monkeypatch.setenv("AIRFLOW_CONN_HUB_STORE_API", json.dumps({"conn_type": "postgres", "login": "postgres"}))
    with pytest.raises(ValueError, match=r"must log in as .*__api with a password"):
        provision_api_login(hub_store.uri)
