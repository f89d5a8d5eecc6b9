"""Per-department roles and views: connecting as the role, nothing beyond the grant is readable."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from hub.access import catalogue, grants, sqlviews
from hub.access.masking import mask
from hub.store.roles import with_login
from schemas.model import PersonalClass, Sharing
from schemas.tables import TABLES
from tests.access.conftest import Hub


def _as_role(hub: Hub, role: str, password: str) -> psycopg.Connection:
    return psycopg.connect(with_login(hub.uri, role, password), autocommit=True)


def _views(hub: Hub, schema: str) -> dict[str, list[str]]:
    with hub.connect() as conn:
        rows = conn.execute(
            "SELECT table_name::text, array_agg(column_name::text ORDER BY ordinal_position) "
            "FROM information_schema.columns WHERE table_schema = %s GROUP BY table_name",
            (schema,),
        ).fetchall()
    return dict(rows)


def test_role_reads_only_its_views_masked(hub_store: Hub) -> None:
    dept, _ = hub_store.new_department("S")
    with hub_store.connect() as conn:
        role, password = sqlviews.enable(conn, dept)
    assert len(password) >= 24
    schema = sqlviews.schema_name(dept)
    views = _views(hub_store, schema)
    unconditional = {t.name for t in TABLES.values() if t.sharing is Sharing.UNCONDITIONAL}
    assert {"population", "market_entity"} <= unconditional
    assert set(views) == unconditional  # only the 无条件 resources, no grant yet
    assert "phone" not in views["population"] and "legal_rep_id" not in views["market_entity"]

    with hub_store.connect() as conn:
        clear = dict(conn.execute("SELECT id_number, name FROM shared.population").fetchall())
    with _as_role(hub_store, role, password) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == role
        rows = conn.execute(f"SELECT id_number, name, address FROM {schema}.population").fetchall()
        assert len(rows) == len(clear)
        for masked_id, _, _ in rows:
            assert masked_id.count("*") == 8 and masked_id not in clear
        assert sorted(r[1] for r in rows) == sorted(mask(PersonalClass.NAME, n) for n in clear.values())
        for forbidden in (
            "SELECT count(*) FROM shared.population",
            "SELECT count(*) FROM shared.social_insurance",
            "SELECT count(*) FROM access.api_key",
            "SELECT count(*) FROM access.audit",
            "SELECT count(*) FROM hub.ledger",
            f"SELECT phone FROM {schema}.population",
            f"CREATE VIEW {schema}.sneaky AS SELECT 1",
        ):
            with pytest.raises(psycopg.Error):
                conn.execute(forbidden)


def test_views_follow_grants_and_their_expiry(hub_store: Hub) -> None:
    dept, _ = hub_store.new_department("S")
    with hub_store.connect() as conn:
        role, password = sqlviews.enable(conn, dept)
        table = catalogue.resolve("640100-RS-0001")
        app_id = grants.apply(conn, dept, table, ["person_no", "id_number", "status"], "养老资格认证", ["id_number"])
        grants.approve(conn, app_id, "RS", dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
        pop = grants.apply(conn, dept, catalogue.resolve("640100-GA-0001"), ["phone"], "联系办事人")
        grants.approve(conn, pop, "GA")
        si_rows = conn.execute("SELECT count(*) FROM shared.social_insurance").fetchone()[0]
        phones = [p for (p,) in conn.execute("SELECT phone FROM shared.population WHERE phone IS NOT NULL")]
    schema = sqlviews.schema_name(dept)
    views = _views(hub_store, schema)
    assert views["social_insurance"] == ["person_no", "id_number", "status"]
    assert "phone" in views["population"]
    with _as_role(hub_store, role, password) as conn:
        assert conn.execute(f"SELECT count(*) FROM {schema}.social_insurance").fetchone()[0] == si_rows
        got = conn.execute(f"SELECT phone FROM {schema}.population WHERE phone IS NOT NULL").fetchall()
        assert phones and sorted(p for (p,) in got) == sorted(mask(PersonalClass.PHONE, p) for p in phones)
        with hub_store.connect() as admin:  # the grant expires: nothing to regenerate
            admin.execute(
                "UPDATE access.application SET expires_at = now() - interval '1 second' WHERE id = %s", (app_id,)
            )
        assert conn.execute(f"SELECT count(*) FROM {schema}.social_insurance").fetchone()[0] == 0
        with hub_store.connect() as admin:
            grants.revoke(admin, pop, "GA", "用途已完成")
        assert "phone" not in _views(hub_store, schema)["population"]
        with pytest.raises(psycopg.Error):
            conn.execute(f"SELECT phone FROM {schema}.population")
    with hub_store.connect() as conn:
        actions = [
            r[0] for r in conn.execute("SELECT action FROM access.audit WHERE dept_code = %s ORDER BY seq", (dept,))
        ]
    assert actions.count("sql.sync") == 4 and actions.count("grant.apply") == 2


def test_view_masking_equals_api_masking(hub_store: Hub) -> None:
    dept, _ = hub_store.new_department("S")
    with hub_store.connect() as conn:
        role, password = sqlviews.enable(conn, dept)
        clear = conn.execute("SELECT id_number, name, address FROM shared.population ORDER BY id_number").fetchall()
    with _as_role(hub_store, role, password) as conn:
        viewed = conn.execute(
            f"SELECT id_number, name, address FROM {sqlviews.schema_name(dept)}.population"
        ).fetchall()
    expected = [
        (mask(PersonalClass.IDENTIFIER, i), mask(PersonalClass.NAME, n), mask(PersonalClass.ADDRESS, a))
        for i, n, a in clear
    ]
    assert sorted(viewed) == sorted(expected)  # (the view sorts by the masked value)
