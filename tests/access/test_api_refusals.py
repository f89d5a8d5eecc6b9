"""Every way to read beyond a grant is refused with a clear error, over real HTTP, and audited."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.access import catalogue, consumers, field_access, grants
from schemas.model import Sharing
from tests.access.conftest import Hub, audit_rows, client, last_seq, officer_client


def _approve(hub: Hub, dept: str, ref: str, fields: list[str], unmasked: list[str] = (), expires=None) -> int:
    table = catalogue.resolve(ref)
    with hub.connect() as conn:
        app_id = grants.apply(conn, dept, table, fields, "办理低保审核", list(unmasked))
        grants.approve(conn, app_id, table.provider, expires)
    return app_id


def test_every_resource_without_a_grant_is_refused_and_audited(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    since = last_seq(hub_store)
    guarded = {
        name: table
        for name, table in catalogue.tables().items()
        if table.sharing is not Sharing.UNCONDITIONAL
        or any(f.sharing is not Sharing.UNCONDITIONAL for f in table.fields)
    }
    assert "shared.population" in guarded  # its phone field is conditional
    with client(api, key) as http:
        for table in catalogue.tables().values():
            everything = list(table.business_columns)
            r = http.post(f"/v1/resources/{table.code}/query", json={"fields": everything, "limit": 5})
            if table.qualified_name not in guarded:  # wholly unconditional: every department reads it
                assert r.status_code == 200, table.code
                continue
            assert r.status_code == 403, table.code
            detail = r.json()["detail"]
            assert "no approved grant" in detail and dept in detail
            if table.sharing is Sharing.CONDITIONAL:
                r = http.post(f"/v1/resources/{table.code}/query", json={"limit": 5})
                assert r.status_code == 403 and "no grant on any field" in r.json()["detail"]
    refused = [a for a in audit_rows(hub_store, dept, since) if a[1] == "refused"]
    resources = {a[2] for a in refused}
    assert resources == set(guarded)
    assert all(a[0] == "query" and a[5] == "办理测试业务" and a[6] for a in refused)


def test_unconditional_fields_are_readable_without_application(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    with client(api, key) as http:
        r = http.post("/v1/resources/640100-GA-0001/query", json={"limit": 3})
    assert r.status_code == 200
    body = r.json()
    assert "phone" not in body["fields"]  # 有条件 field of a 无条件 resource
    assert {"id_number", "name", "address"} <= set(body["masked"])
    assert len(body["rows"]) == 3
    [entry] = [a for a in audit_rows(hub_store, dept) if a[0] == "query"]
    assert entry[1] == "allowed" and entry[4] == 3 and "id_number" in entry[3]


def test_expired_grant_is_refused_naming_the_grant(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    app_id = _approve(
        hub_store,
        dept,
        "640100-RS-0001",
        ["person_no", "status"],
        expires=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
    )
    with client(api, key) as http:
        ok = http.post("/v1/resources/640100-RS-0001/query", json={"fields": ["person_no", "status"]})
        assert ok.status_code == 200
        with hub_store.connect() as conn:  # the clock moves past the expiry
            conn.execute(
                "UPDATE access.application SET expires_at = now() - interval '1 hour' WHERE id = %s", (app_id,)
            )
        since = last_seq(hub_store)
        r = http.post("/v1/resources/640100-RS-0001/query", json={"fields": ["person_no", "status"]})
    assert r.status_code == 403
    assert f"grant #{app_id}" in r.json()["detail"] and "expired" in r.json()["detail"]
    [entry] = audit_rows(hub_store, dept, since)
    assert entry[:3] == ("query", "refused", "shared.social_insurance") and "expired" in entry[6]


def test_fields_outside_the_grant_are_refused(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    _approve(hub_store, dept, "640100-RS-0001", ["person_no", "status"])
    since = last_seq(hub_store)
    with client(api, key) as http:
        for fields in (["person_no", "name"], ["contribution_base"]):
            r = http.post("/v1/resources/640100-RS-0001/query", json={"fields": fields})
            assert r.status_code == 403 and "no approved grant" in r.json()["detail"]
        # filtering on a field outside the grant is reading it too
        r = http.post(
            "/v1/resources/640100-RS-0001/query",
            json={"fields": ["person_no"], "filters": [{"field": "id_number", "op": "eq", "value": "x"}]},
        )
        assert r.status_code == 403 and "id_number" in r.json()["detail"]
        # the population's 有条件 phone field needs its own grant
        r = http.post("/v1/resources/640100-GA-0001/query", json={"fields": ["id_number", "phone"]})
        assert r.status_code == 403 and "phone" in r.json()["detail"]
    assert [a[1] for a in audit_rows(hub_store, dept, since)] == ["refused"] * 4


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"fields": ["name; DROP TABLE shared.population; --"]}, 403),
        ({"fields": ["id_number", "(SELECT phone FROM shared.population LIMIT 1)"]}, 403),
        ({"fields": ["name"], "filters": [{"field": "1=1 OR name", "op": "eq", "value": "x"}]}, 403),
        ({"fields": ["name"], "filters": [{"field": "name", "op": "= name OR 1=1 --", "value": "x"}]}, 400),
        (
            {
                "fields": ["name"],
                "filters": [{"field": "source_updated_at", "op": "lt", "value": "'; DROP TABLE x; --"}],
            },
            400,
        ),
        ({"fields": []}, 400),
    ],
)
def test_sql_injection_is_refused_and_audited(hub_store: Hub, api: str, payload: dict, status: int) -> None:
    dept, key = hub_store.new_department()
    with hub_store.connect() as conn:
        before = conn.execute("SELECT count(*) FROM shared.population").fetchone()[0]
    with client(api, key) as http:
        r = http.post("/v1/resources/640100-GA-0001/query", json=payload)
    assert r.status_code == status and r.json()["detail"]
    [entry] = audit_rows(hub_store, dept)
    assert entry[1] == "refused"
    with hub_store.connect() as conn:
        assert conn.execute("SELECT count(*) FROM shared.population").fetchone()[0] == before


def test_injected_filter_value_is_only_a_value(hub_store: Hub, api: str) -> None:
    _, key = hub_store.new_department()
    with client(api, key) as http:
        r = http.post(
            "/v1/resources/640100-GA-0001/query",
            json={"fields": ["gender"], "filters": [{"field": "region_code", "op": "eq", "value": "x' OR '1'='1"}]},
        )
    assert r.status_code == 200 and r.json()["rows"] == []


def test_forged_unknown_and_revoked_keys_are_refused_and_audited(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    key_id = key[len(consumers.PREFIX) :].split(".")[0]
    forged = f"{consumers.PREFIX}{key_id}.{'A' * 43}"
    failures_before = _auth_failures(hub_store)
    with client(api, forged) as http:
        r = http.post("/v1/verify/entity", json={"uscc": "x"})
    assert r.status_code == 401 and "forged" in r.json()["detail"]
    with client(api, "shk_0000000000000000.nothing") as http:
        assert http.get("/v1/catalog").json()["detail"] == "unknown API key"
    with client(api, None) as http:
        assert "missing" in http.get("/v1/catalog").json()["detail"]
    with hub_store.connect() as conn:
        new = consumers.rotate(conn, dept)
    with client(api, key) as http:
        r = http.get("/v1/catalog")
    assert r.status_code == 401 and r.json()["detail"] == "API key was revoked"
    with client(api, new.token) as http:
        assert http.get("/v1/catalog").status_code == 200
    assert _auth_failures(hub_store) - failures_before == 4  # forged, unknown, missing, revoked: each counted
    with hub_store.connect() as conn:  # each source+minute counted is in the audit once, without the key
        minutes = conn.execute("SELECT source, minute FROM access.auth_failure").fetchall()
        details = [
            r[0] for r in conn.execute("SELECT detail FROM access.audit WHERE action = 'auth' AND outcome = 'refused'")
        ]
    for source, minute in minutes:
        stamp = minute.isoformat(timespec="minutes")
        assert sum(f"from {source};" in d and stamp in d for d in details) == 1, stamp
    assert key not in " ".join(details) and forged not in " ".join(details)


def _auth_failures(hub: Hub) -> int:
    with hub.connect() as conn:
        return conn.execute("SELECT coalesce(sum(failures), 0) FROM access.auth_failure").fetchone()[0]


def test_a_read_without_a_stated_purpose_is_refused(hub_store: Hub, api: str) -> None:
    _, key = hub_store.new_department()
    with client(api, key, purpose=None) as http:
        r = http.post("/v1/resources/640100-GA-0001/query", json={})
    assert r.status_code == 400 and "X-Purpose" in r.json()["detail"]


def test_not_shared_fields_are_never_exposed_or_applied_for(hub_store: Hub) -> None:
    from schemas.model import DataType, Field, Table

    table = Table(
        "shared",
        "t_secret",
        "640100-XX-0001",
        "测试",
        "GA",
        "test",
        (
            Field("k", DataType.TEXT, "键", key=True),
            Field("secret", DataType.TEXT, "秘密", sharing=Sharing.NOT_SHARED),
        ),
    )
    dept, _ = hub_store.new_department()
    with hub_store.connect() as conn:
        assert "secret" not in field_access.field_access(conn, dept, table)
        with pytest.raises(grants.AccessDenied, match="不予共享"):
            grants.apply(conn, dept, table, ["k", "secret"], "需要")
        with pytest.raises(grants.AccessDenied, match="不予共享"):
            grants.check_fields(conn, dept, table, ["secret"])


def test_refusal_needs_a_reason_and_only_the_provider_decides(hub_store: Hub, api: str) -> None:
    _, key = hub_store.new_department()
    with client(api, key) as http:
        r = http.post(
            "/v1/applications",
            json={"resource": "640100-YB-0001", "fields": ["person_no", "status"], "purpose": "医疗救助审核"},
        )
        app_id = r.json()["id"]
        assert http.post(f"/v1/applications/{app_id}/decision", json={"decision": "approve"}).status_code == 403
    with officer_client(api, hub_store.new_officer("GA")) as http:  # not the provider (医保局 YB is)
        r = http.post(f"/v1/applications/{app_id}/decision", json={"decision": "approve"})
        assert r.status_code == 403 and "YB" in r.json()["detail"]
    with hub_store.connect() as conn:
        with pytest.raises(grants.AccessDenied, match="reason"):
            grants.refuse(conn, app_id, "YB", "  ")
        grants.refuse(conn, app_id, "YB", "用途与医疗保险无关")
        row = conn.execute("SELECT status, reason, due_on FROM access.application WHERE id = %s", (app_id,)).fetchone()
    assert row[:2] == ("refused", "用途与医疗保险无关") and row[2] > dt.date.today()
    with client(api, key) as http:
        apps = http.get("/v1/applications").json()
        assert apps[0]["status"] == "refused" and apps[0]["reason"] == "用途与医疗保险无关"
        r = http.post("/v1/resources/640100-YB-0001/query", json={"fields": ["person_no"]})
        assert r.status_code == 403
