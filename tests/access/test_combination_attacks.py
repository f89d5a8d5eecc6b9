"""The attacks of issue 14 on masking, run against the real API and the real store.

A department without a grant must not rebuild a masked identity number from what it reads in clear,
and a grant on one resource must not open the same-named fields of another.
"""

from __future__ import annotations

import datetime as dt

from hub.access import budgets, catalogue, grants, reads, sqlviews
from schemas.tables import TABLES
from tests.access.conftest import Hub, audit_rows, client

POPULATION = "640100-GA-0001"


def _grant(hub: Hub, dept: str, ref: str, fields: list[str], unmasked: list[str] = ()) -> int:
    table = catalogue.resolve(ref)
    with hub.connect() as conn:
        app_id = grants.apply(conn, dept, table, fields, "核对申请人身份", list(unmasked))
        grants.approve(conn, app_id, table.provider)
    return app_id


def _rebuild(http, limit: int = 200) -> tuple[int, list[str], int]:
    """The attack: read masked identity numbers with birth dates, rebuild them, confirm with an `in` filter.

    Returns the status of the read, the rebuilt numbers and how many of them the confirmation matched.
    """
    r = http.post(f"/v1/resources/{POPULATION}/query", json={"fields": ["id_number", "birth_date"], "limit": limit})
    if r.status_code != 200:
        return r.status_code, [], 0
    rebuilt = [
        row["id_number"][:6] + dt.date.fromisoformat(row["birth_date"]).strftime("%Y%m%d") + row["id_number"][-4:]
        for row in r.json()["rows"]
    ]
    confirm = http.post(
        f"/v1/resources/{POPULATION}/query",
        json={"fields": ["gender"], "filters": [{"field": "id_number", "op": "in", "value": rebuilt}], "limit": 1000},
    )
    assert confirm.status_code == 200
    return r.status_code, rebuilt, len(confirm.json()["rows"])


def test_identity_numbers_cannot_be_rebuilt_without_a_grant(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department("X")
    with client(api, key) as http:
        status, rebuilt, matched = _rebuild(http)
        assert (status, rebuilt, matched) == (403, [], 0)
        r = http.post(f"/v1/resources/{POPULATION}/query", json={"fields": ["birth_date"], "limit": 1})
        assert r.status_code == 403 and "birth_date" in r.json()["detail"] and "有条件共享 field" in r.json()["detail"]
        # what stays readable without a grant shows nothing of the hidden positions 7-14
        r = http.post(f"/v1/resources/{POPULATION}/query", json={"limit": 50})
        assert r.status_code == 200 and "birth_date" not in r.json()["fields"]
        with hub_store.connect() as conn:
            clear = {
                i: b.strftime("%Y%m%d")
                for i, b in conn.execute("SELECT id_number, birth_date FROM shared.population").fetchall()
            }
        births = set(clear.values())
        for row in r.json()["rows"]:
            assert not any(b in str(v) for v in row.values() if v is not None for b in births)
    refused = [a for a in audit_rows(hub_store, dept) if a[1] == "refused"]
    assert refused and all(a[2] == "shared.population" for a in refused)


def test_the_same_attack_succeeds_only_with_a_birth_date_grant(hub_store: Hub, api: str) -> None:
    # the control is real: with the provider's grant on birth_date the numbers come back, so the grant
    # (a decision of 公安, audited) is what stands between a department and the full numbers
    dept, key = hub_store.new_department("X")
    _grant(hub_store, dept, POPULATION, ["birth_date"])
    with hub_store.connect() as conn:  # the default budget would stop the 200-value confirmation on its own
        budgets.set_budget(conn, "masked_filter", 1_000, 10_000, dept=dept)
    with client(api, key) as http:
        status, rebuilt, matched = _rebuild(http)
    assert status == 200 and len(rebuilt) == 200
    with hub_store.connect() as conn:
        valid = conn.execute("SELECT count(*) FROM shared.population WHERE id_number = ANY(%s)", (rebuilt,)).fetchone()
    assert matched == valid[0] > 150  # all but the few stored with a birth date their number disagrees with


def test_the_sql_views_do_not_carry_the_birth_date_without_a_grant(hub_store: Hub) -> None:
    dept, _ = hub_store.new_department("X")
    with hub_store.connect() as conn:
        sqlviews.enable(conn, dept)
        cols = [
            r[0]
            for r in conn.execute(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = 'population'",
                (sqlviews.schema_name(dept),),
            )
        ]
    open_fields = [
        f.name for f in TABLES["shared.population"].fields if TABLES["shared.population"].readable_without_grant(f)
    ]
    assert cols == open_fields and "birth_date" not in cols and "id_number" in cols


def _certificate(hub: Hub) -> str:
    cid = "1.2.156.3005.2.11100000MB0268015M002.11640100MB1720A11K.TESTPERSON0001.001.X"
    with hub.connect() as conn:
        conn.execute(
            "INSERT INTO shared.e_certificate (certificate_id, series, version, type_code, type_name, number, "
            "holder_name, holder_id, holder_id_type, issuer_name, issuer_code, issue_date, valid_from, valid_to, "
            "status, face, signature, signature_scheme, source_key, source_system, batch_id, loaded_at, record_hash) "
            "VALUES (%s, 's', 1, 't', '社会保障卡', 'A12345678', '张三', '640104199001011234', '111', '人社', 'c', "
            "'2020-01-01', '2020-01-01', '2099-12-31', 'VALID', '{}', 'sig', 'SM2', 'TESTPERSON0001', 'test', "
            "'test:1', now(), 'h') ON CONFLICT DO NOTHING",
            (cid,),
        )
    return cid


def test_a_grant_on_one_resource_does_not_open_same_named_fields_of_another(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department("X")
    cid = _certificate(hub_store)
    # 人社 grants id_number, name and status of social insurance, in clear
    _grant(hub_store, dept, "640100-RS-0001", ["id_number", "name", "status"], unmasked=["id_number", "name"])
    with hub_store.connect() as conn:
        id_number = conn.execute("SELECT id_number FROM shared.population ORDER BY id_number LIMIT 1").fetchone()[0]
    with client(api, key) as http:
        r = http.post(
            f"/v1/resources/{POPULATION}/query",
            json={"fields": ["id_number", "name"], "filters": [{"field": "id_number", "op": "eq", "value": id_number}]},
        )
        assert r.status_code == 200 and set(r.json()["masked"]) == {"id_number", "name"}
        assert id_number not in r.text
        access = http.get(f"/v1/resources/{POPULATION}/access").json()["fields"]
        assert access["id_number"]["masked"] and access["id_number"]["grants"] == []
        # the e-certificate's status is not social insurance's status: verification needs its own grant
        r = http.post("/v1/verify/certificate", json={"certificate_id": cid})
        assert r.status_code == 403 and "640100-HUB-0001" in r.json()["detail"]
        _grant(hub_store, dept, "640100-HUB-0001", ["certificate_id", "status", "valid_to"])
        r = http.post("/v1/verify/certificate", json={"certificate_id": cid})
        assert r.status_code == 200 and r.json() == {"valid": True}
        # and that grant opens no population field
        r = http.post(f"/v1/resources/{POPULATION}/query", json={"fields": ["birth_date"], "limit": 1})
        assert r.status_code == 403
    outcomes = [(a[0], a[1]) for a in audit_rows(hub_store, dept) if a[0] == "verify.certificate"]
    assert outcomes == [("verify.certificate", "refused"), ("verify.certificate", "allowed")]


def test_verification_grant_checks_decide_something() -> None:
    # every field /v1/verify/certificate reads needs a grant; the other two are documented as open
    cert = reads.certificate_table()
    assert cert is not None and cert.qualified_name == "shared.e_certificate"
    for name in ("certificate_id", "status", "valid_to"):
        assert not cert.readable_without_grant(cert.field(name))
