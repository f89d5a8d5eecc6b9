"""Reads that are allowed: masking, paging, verification, prefill, catalogue (real HTTP server)."""

from __future__ import annotations

import re

import psycopg
import pytest

from hub.access import catalogue, grants, reads
from hub.access.masking import mask
from schemas.model import PersonalClass
from tests.access.conftest import ACTIVE_USCC, REVOKED_USCC, Hub, audit_rows, client

MASKED_ID = re.compile(r"^\d{6}\*{8}[0-9X]{4}$")


def _grant(hub: Hub, dept: str, ref: str, fields: list[str], unmasked: list[str] = ()) -> int:
    table = catalogue.resolve(ref)
    with hub.connect() as conn:
        app_id = grants.apply(conn, dept, table, fields, "办理社会救助", list(unmasked))
        grants.approve(conn, app_id, table.provider)
    return app_id


def _person(hub: Hub, status: str = "NORMAL") -> tuple[str, str, str | None, str | None]:
    with hub.connect() as conn:
        return conn.execute(
            "SELECT id_number, name, phone, address FROM shared.population WHERE status = %s AND phone IS NOT NULL "
            "AND address IS NOT NULL ORDER BY id_number LIMIT 1",
            (status,),
        ).fetchone()


def test_masking_rules_on_the_documented_examples() -> None:
    assert mask(PersonalClass.IDENTIFIER, "640104199001011234") == "640104********1234"
    assert mask(PersonalClass.PHONE, "13812345678") == "138****5678"
    assert mask(PersonalClass.NAME, "欧阳娜娜") == "欧***"
    assert mask(PersonalClass.ADDRESS, "宁夏回族自治区银川市兴庆区解放西街1号") == "宁夏回族自治****"
    assert mask(PersonalClass.OTHER, "A12345678") == "*****5678"
    assert mask(PersonalClass.IDENTIFIER, None) is None
    assert mask(PersonalClass.NONE, "x") == "x"


@pytest.mark.parametrize("personal", [p for p in PersonalClass if p is not PersonalClass.NONE])
def test_sql_masking_equals_python_masking(hub_store: Hub, personal: PersonalClass) -> None:
    from hub.access.masking import mask_sql

    # every length from 0 to 20 crosses each rule's threshold from below, at and above
    samples = ["张", "欧阳", "13812345678", "640104199001011234", "宁夏银川市兴庆区", "宁夏银川市兴庆区解放"]
    samples += ["0123456789ABCDEFGHIJ"[:n] for n in range(21)]
    with hub_store.connect() as conn:
        conn.execute("CREATE TEMP TABLE m (v text)")
        with conn.cursor().copy("COPY m (v) FROM STDIN") as cp:
            for s in samples:
                cp.write_row((s,))
            cp.write_row((None,))
        for table, col in (("shared.population", "name"), ("shared.population", "address")):
            conn.execute(f"INSERT INTO m SELECT {col} FROM {table} LIMIT 300")
        rows = conn.execute(f"SELECT v, {mask_sql(personal, 'v')} FROM m").fetchall()
    assert len(rows) > 300
    assert all(masked == mask(personal, v) for v, masked in rows)


def test_personal_fields_stay_masked_through_the_api(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    _grant(hub_store, dept, "640100-GA-0001", ["phone"])  # phone granted, but masked
    id_number, name, phone, address = _person(hub_store)
    with client(api, key) as http:
        r = http.post(
            "/v1/resources/640100-GA-0001/query",
            json={
                "fields": ["id_number", "name", "phone", "address", "gender"],
                "filters": [{"field": "id_number", "op": "eq", "value": id_number}],
            },
        )
    assert r.status_code == 200
    [row] = r.json()["rows"]
    assert row["id_number"] == id_number[:6] + "********" + id_number[-4:] and MASKED_ID.match(row["id_number"])
    assert row["phone"] == phone[:3] + "****" + phone[-4:]
    assert row["name"] == mask(PersonalClass.NAME, name) and row["address"] == mask(PersonalClass.ADDRESS, address)
    assert set(r.json()["masked"]) == {"id_number", "name", "phone", "address"}
    text = r.text
    assert id_number not in text and phone not in text and address not in text
    # ranges and prefixes on masked fields would enumerate them
    with client(api, key) as http:
        r = http.post(
            "/v1/resources/640100-GA-0001/query",
            json={"fields": ["gender"], "filters": [{"field": "id_number", "op": "gt", "value": "6401"}]},
        )
    assert r.status_code == 403 and "masked" in r.json()["detail"]


def test_unmasked_grant_returns_clear_values(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    _grant(hub_store, dept, "640100-GA-0001", ["id_number", "name", "phone"], unmasked=["id_number", "phone"])
    id_number, name, phone, _ = _person(hub_store)
    with client(api, key) as http:
        r = http.post(
            "/v1/resources/640100-GA-0001/query",
            json={
                "fields": ["id_number", "name", "phone"],
                "filters": [{"field": "id_number", "op": "eq", "value": id_number}],
            },
        )
    [row] = r.json()["rows"]
    assert row == {"id_number": id_number, "name": mask(PersonalClass.NAME, name), "phone": phone}


def test_keyset_paging_returns_every_row_once(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    _grant(hub_store, dept, "640100-GA-0001", ["id_number"], unmasked=["id_number"])
    seen: list[str] = []
    after = None
    pages = 0
    with client(api, key) as http:
        while True:
            body = {"fields": ["id_number", "gender"], "limit": 300, "after": after}
            page = http.post("/v1/resources/640100-GA-0001/query", json=body).json()
            seen.extend(r["id_number"] for r in page["rows"])
            pages += 1
            after = page["next_cursor"]
            if after is None:
                break
            assert "6401" not in after  # the cursor does not show the key
        tampered = after or page_cursor(http)
        r = http.post(
            "/v1/resources/640100-GA-0001/query",
            json={"fields": ["gender"], "after": tampered[:-2] + ("AA" if tampered[-2:] != "AA" else "BB")},
        )
        assert r.status_code == 400 and "cursor" in r.json()["detail"]
    with hub_store.connect() as conn:
        stored = [r[0] for r in conn.execute("SELECT id_number FROM shared.population ORDER BY id_number")]
    assert seen == stored and pages == -(-len(stored) // 300)
    reads = [a for a in audit_rows(hub_store, dept) if a[0] == "query" and a[3] == ["id_number", "gender"]]
    assert len(reads) == pages and sum(a[4] for a in reads) == len(stored)
    assert next(a for a in audit_rows(hub_store, dept) if a[1] == "refused")[6] == "cursor does not verify"


def test_keyset_paging_over_a_masked_key_returns_every_row_once(hub_store: Hub, api: str) -> None:
    # id_number is the key and comes back masked: pages follow neither the masked text (rows lost and
    # repeated) nor the stored key (its order gives away the birth date, see test_page_order)
    _, key = hub_store.new_department()
    seen: list[str] = []
    after = None
    with client(api, key) as http:
        while True:
            body = {"fields": ["id_number"], "limit": 300, "after": after}
            page = http.post("/v1/resources/640100-GA-0001/query", json=body).json()
            assert page["masked"] == ["id_number"]
            seen.extend(r["id_number"] for r in page["rows"])
            after = page["next_cursor"]
            if after is None:
                break
    with hub_store.connect() as conn:
        stored = [r[0] for r in conn.execute("SELECT id_number FROM shared.population ORDER BY id_number")]
    expected = [mask(PersonalClass.IDENTIFIER, i) for i in stored]
    assert len(seen) == len(stored) and sorted(seen) == sorted(expected)
    assert seen != expected


def page_cursor(http) -> str:
    """A valid cursor of a one-row page."""
    return http.post("/v1/resources/640100-GA-0001/query", json={"fields": ["gender"], "limit": 1}).json()[
        "next_cursor"
    ]


def test_a_cursor_of_another_department_is_refused(hub_store: Hub, api: str) -> None:
    _, key_a = hub_store.new_department()
    _, key_b = hub_store.new_department()
    with client(api, key_a) as http:
        cursor = page_cursor(http)
    with client(api, key_b) as http:
        r = http.post("/v1/resources/640100-GA-0001/query", json={"fields": ["gender"], "after": cursor})
    assert r.status_code == 400 and "another department" in r.json()["detail"]


def test_verification_answers_yes_or_no_only(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    id_number, name, _, _ = _person(hub_store)
    with hub_store.connect() as conn:  # a person who died at the source (as apply_day would set)
        dead_id, dead_name = conn.execute(
            "UPDATE shared.population SET status = 'DECEASED' WHERE id_number = "
            "(SELECT id_number FROM shared.population WHERE status = 'NORMAL' ORDER BY id_number DESC LIMIT 1) "
            "RETURNING id_number, name"
        ).fetchone()
    with client(api, key) as http:
        ask = lambda i, n: http.post("/v1/verify/person", json={"id_number": i, "name": n})  # noqa: E731
        assert ask(id_number, name).json() == {"match": True}
        assert ask(id_number.lower(), name).json() == {"match": True}
        assert ask(id_number, name + "某").json() == {"match": False}
        assert ask(dead_id, dead_name).json() == {"match": False}
        assert ask("640104199001011234", "不存在").json() == {"match": False}
        assert http.post("/v1/verify/entity", json={"uscc": ACTIVE_USCC}).json() == {"active": True}
        assert http.post("/v1/verify/entity", json={"uscc": REVOKED_USCC}).json() == {"active": False}
        r = http.post("/v1/verify/certificate", json={"certificate_id": "1.2.156.3005.2.x"})
        # the e-certificate resource is 有条件 (derived from 人社's cards): no grant, no answer
        assert reads.certificate_table() is not None
        assert r.status_code == 403 and "640100-HUB-0001" in r.json()["detail"]
    entries = [a for a in audit_rows(hub_store, dept) if a[0].startswith("verify.")]
    assert [a[1] for a in entries][:7] == ["allowed"] * 7
    assert entries[0][2:6] == ("shared.population", ["id_number", "name", "status"], 1, "办理测试业务")


def test_certificate_verification_against_a_declared_table(hub_store: Hub, api: str, monkeypatch) -> None:
    from schemas.model import DataType, Field, Table, create_table_sql

    cert = Table(
        "shared",
        "e_certificate_test",
        "640100-ZZ-0001",
        "电子证照",
        "ZZ",
        "test",
        (
            Field("certificate_id", DataType.TEXT, "证照标识", key=True),
            Field("status", DataType.TEXT, "状态"),
            Field("valid_to", DataType.DATE, "有效期截止"),
        ),
    )
    monkeypatch.setattr(reads, "certificate_table", lambda: cert)
    monkeypatch.setattr(catalogue, "tables", lambda: {**_declared(), cert.qualified_name: cert})
    _, key = hub_store.new_department()
    with client(api, key) as http:
        r = http.post("/v1/verify/certificate", json={"certificate_id": "c1"})
        assert r.status_code == 404 and "does not exist" in r.json()["detail"]
        with hub_store.connect() as conn:
            conn.execute(create_table_sql(cert))
            conn.execute(
                "INSERT INTO shared.e_certificate_test (certificate_id, status, valid_to, source_system, batch_id, "
                "loaded_at, record_hash) VALUES ('c1', 'VALID', NULL, 't', 't', now(), 'h'), "
                "('c2', 'VALID', '2000-01-01', 't', 't', now(), 'h'), ('c3', 'REVOKED', NULL, 't', 't', now(), 'h')"
            )
        answers = [
            http.post("/v1/verify/certificate", json={"certificate_id": c}).json() for c in ("c1", "c2", "c3", "c4")
        ]
    assert answers == [{"valid": True}, {"valid": False}, {"valid": False}, {"valid": False}]


def _declared() -> dict:
    from schemas.tables import TABLES

    return dict(TABLES)


def test_prefill_is_limited_to_granted_fields(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    id_number, name, phone, _ = _person(hub_store)
    with client(api, key) as http:
        r = http.post("/v1/prefill", json={"id_number": id_number, "case_no": hub_store.new_case(id_number)})
    body = r.json()
    [person] = body["sections"]["640100-GA-0001"]
    assert "phone" not in person and person["name"] == mask(PersonalClass.NAME, name)
    assert person["id_number"] == mask(PersonalClass.IDENTIFIER, id_number)
    assert set(body["withheld"]) == {"640100-RS-0001", "640100-YB-0001"}
    assert id_number not in r.text and phone not in r.text
    refused = [a for a in audit_rows(hub_store, dept) if a[0] == "prefill" and a[1] == "refused"]
    assert {a[2] for a in refused} == {"shared.social_insurance", "shared.medical_insurance"}


def test_catalogue_lists_every_declared_resource_with_live_figures(hub_store: Hub, api: str) -> None:
    _, key = hub_store.new_department()
    with client(api, key) as http:
        entries = {e["code"]: e for e in http.get("/v1/catalog").json()}
    assert set(entries) == {t.code for t in catalogue.tables().values()}
    pop = entries["640100-GA-0001"]
    with psycopg.connect(hub_store.uri) as conn:
        assert pop["row_count"] == conn.execute("SELECT count(*) FROM shared.population").fetchone()[0]
    assert pop["sharing_title"] == "无条件共享" and pop["provider"] == "GA" and pop["last_update"]
    phone = next(f for f in pop["fields"] if f["name"] == "phone")
    assert phone == {
        "name": "phone",
        "title": "联系电话",
        "type": "text",
        "personal": "phone",
        "sharing": "conditional",
        "sharing_title": "有条件共享",
        "key": False,
        "readable_without_grant": False,
        "carries": ["phone"],
        "masked_hides": ["phone"],
        "derived_from": [],
    }
    assert entries["640100-RS-0001"]["sharing_title"] == "有条件共享"
    # the catalogue says what each mask hides and what travels with it
    fields = {f["name"]: f for f in pop["fields"]}
    assert fields["id_number"]["masked_hides"] == ["birth_date", "birth_year", "id_number"]
    assert fields["birth_date"]["readable_without_grant"] is False and fields["gender"]["readable_without_grant"]
    cert = entries["640100-HUB-0001"]
    assert cert["sharing"] == "conditional"
    assert cert["derived_from"] == ["shared.market_entity", "shared.social_insurance"]
    cid = next(f for f in cert["fields"] if f["name"] == "certificate_id")
    assert "shared.social_insurance.person_no" in cid["derived_from"] and cid["carries"] == ["person_no"]
