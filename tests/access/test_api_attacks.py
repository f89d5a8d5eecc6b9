"""The attacks of issue 14 on the API (items 2, 6, 7, 8, 10, 11, 13), each refused over real HTTP and audited."""

from __future__ import annotations

import json
import random
import socket
from urllib.parse import quote, urlsplit

import pytest

from hub.access import budgets, catalogue, consumers, cursor_token, digest, grants
from hub.access.keyconfig import KeyConfigError
from hub.api.app import create_app
from hub.api.guard import MAX_BODY_BYTES
from hub.cli import main
from tests.access.conftest import ACTIVE_USCC, Hub, audit_rows, client, last_seq, officer_client

POPULATION = "640100-GA-0001"


def _person(hub: Hub, offset: int = 0) -> tuple[str, str]:
    with hub.connect() as conn:
        return conn.execute(
            "SELECT id_number, name FROM shared.population WHERE status = 'NORMAL' "
            "ORDER BY id_number OFFSET %s LIMIT 1",
            (offset,),
        ).fetchone()


def _raw(url: str, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send a request head (and ``body``) on a plain socket; the status and JSON body of the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        header, _, rest = data.partition(b"\r\n\r\n")
        length = int(next(h for h in header.split(b"\r\n") if h.lower().startswith(b"content-length:")).split(b":")[1])
        while len(rest) < length:
            rest += sock.recv(65536)
    return int(header.split(b" ")[1]), json.loads(rest[:length])


# item 6: limits before work


def test_an_unauthenticated_huge_body_is_refused_before_it_is_read(hub_store: Hub, api: str) -> None:
    head = (
        f"POST /v1/objections HTTP/1.1\nHost: x\nX-API-Key: shk_0.bad\nContent-Type: application/json\n"
        f"Content-Length: {200 * 1024 * 1024}\n"
    )
    status, body = _raw(api, head)  # no body sent: an answer proves nothing waited for it
    assert status == 401 and body["detail"] == "unknown API key"


def test_an_oversized_body_is_refused_whether_declared_or_streamed_and_audited(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    head = f"POST /v1/objections HTTP/1.1\nHost: x\nX-API-Key: {key}\nContent-Type: application/json\n"
    status, body = _raw(api, head + f"Content-Length: {5 * 1024 * 1024}\n")  # a 5 MB objection, declared
    assert status == 413 and f"limit of {MAX_BODY_BYTES} bytes" in body["detail"]
    chunk = b"x" * 65536
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY_BYTES // len(chunk) + 1))
    status, body = _raw(api, head + "Transfer-Encoding: chunked\n", chunked)  # streamed, no length declared
    assert status == 413 and "larger than the limit" in body["detail"]
    refused = [a for a in audit_rows(hub_store, dept) if a[0] == "request"]
    assert len(refused) == 2 and all("larger than the limit" in a[6] and "/v1/objections" in a[6] for a in refused)


def test_an_objection_text_is_limited(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    id_number, _ = _person(hub_store)
    claim = {"resource": POPULATION, "record_key": {"id_number": id_number}, "field": "name"}
    with client(api, key) as http:
        r = http.post("/v1/objections", json=claim | {"claim": "姓名有误" * 600})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "claim"]
        assert "2000 characters" in r.json()["detail"][0]["msg"]
        assert http.post("/v1/objections", json=claim | {"claim": "姓名有误，应为张三"}).status_code == 200
    [refused] = [a for a in audit_rows(hub_store, dept) if a[0] == "request"]
    assert "body.claim" in refused[6] and "姓名有误" not in refused[6]


# item 7: failed authentication is counted, not a row per request


def test_a_bad_key_flood_is_counted_per_source_and_minute(hub_store: Hub, api: str) -> None:
    with hub_store.connect() as conn:
        before = conn.execute("SELECT coalesce(sum(failures), 0) FROM access.auth_failure").fetchone()[0]
    since = last_seq(hub_store)
    long_url = "/v1/catalog?" + "q=" + "A" * 15_000
    with client(api, "shk_0000000000000000.nothing") as http:
        statuses = {http.get(long_url).status_code for _ in range(60)}
    assert statuses == {401}
    with hub_store.connect() as conn:
        after = conn.execute("SELECT coalesce(sum(failures), 0) FROM access.auth_failure").fetchone()[0]
        longest = conn.execute("SELECT max(length(path)) FROM access.auth_failure").fetchone()[0]
        new_audit = conn.execute(
            "SELECT detail FROM access.audit WHERE seq > %s AND action = 'auth'", (since,)
        ).fetchall()
    assert after - before == 60
    assert len(new_audit) <= 2  # one per source and minute (the flood may straddle a minute)
    assert longest < 260 and all(len(d) < 600 for (d,) in new_audit)


# item 2: query budgets


def test_verification_calls_beyond_the_budget_get_429_and_are_audited(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    with hub_store.connect() as conn:
        budgets.set_budget(conn, "verify", 5, 6, dept=dept)  # the day limit keeps the test exact across a minute
    id_number, name = _person(hub_store)
    with client(api, key) as http:
        answers = [http.post("/v1/verify/person", json={"id_number": id_number, "name": name}) for _ in range(7)]
        assert http.post("/v1/verify/entity", json={"uscc": ACTIVE_USCC}).status_code == 200  # another resource
    codes = [r.status_code for r in answers]
    assert codes[:5] == [200] * 5 and codes[-1] == 429 and codes == sorted(codes)
    first = answers[codes.index(429)]
    assert first.headers["Retry-After"] == "60" and "verification calls on shared.population" in first.json()["detail"]
    rows = [a for a in audit_rows(hub_store, dept) if a[0] == "verify.person"]
    assert [a[1] for a in rows] == ["allowed" if c == 200 else "refused" for c in codes]
    subject = digest.keyed(id_number)  # an investigator with the key finds whose identity was checked
    assert all(subject in a[6] and id_number not in a[6] for a in rows)
    assert "budget exceeded" in rows[-1][6]


def test_masked_field_filters_are_budgeted_by_values_and_audited_as_digests(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    with hub_store.connect() as conn:
        budgets.set_budget(conn, "masked_filter", 10, 12, dept=dept, resource="shared.population")
        ids = [r[0] for r in conn.execute("SELECT id_number FROM shared.population ORDER BY id_number LIMIT 11")]
    _, name = _person(hub_store)
    query = f"/v1/resources/{POPULATION}/query"
    with client(api, key) as http:
        confirm = {"field": "id_number", "op": "in", "value": ids}  # the "confirm them all in one request"
        r = http.post(query, json={"fields": ["gender"], "filters": [confirm]})
        assert r.status_code == 429 and "per minute" in r.json()["detail"]
        oracle = [
            http.post(query, json={"fields": ["gender"], "filters": [{"field": "name", "op": "eq", "value": guess}]})
            for guess in [name, *(f"{name[0]}{i}" for i in range(12))]
        ]
        by_gender = {"field": "gender", "op": "eq", "value": "1"}
        plain = http.post(query, json={"fields": ["gender"], "filters": [by_gender]})
    codes = [r.status_code for r in oracle]  # the name bisection stops at the budget
    assert codes[:10] == [200] * 10 and codes[-1] == 429 and codes == sorted(codes)
    assert plain.status_code == 200  # filters on unmasked fields are not budgeted
    rows = [a for a in audit_rows(hub_store, dept) if a[0] == "query"]
    assert rows[0][1] == "refused" and "filters id_number:in" in rows[0][6]
    assert rows[0][6].endswith(digest.keyed([["id_number", "in", ids]]))
    first_guess = rows[1]
    assert first_guess[1] == "allowed" and "name" in first_guess[3]  # the filter field is recorded
    assert "filters name:eq" in first_guess[6] and digest.keyed([["name", "eq", name]]) in first_guess[6]
    assert name not in " ".join(a[6] for a in rows) and ids[0] not in " ".join(a[6] for a in rows)
    with hub_store.connect() as conn:  # the day's budget: 10 used, 2 more fit, not 3
        used = conn.execute(
            "SELECT day_n FROM access.query_usage WHERE dept_code = %s AND kind = 'masked_filter'", (dept,)
        ).fetchone()[0]
        assert used == codes.count(200)  # refused calls are not counted
        budgets.set_budget(conn, "masked_filter", 1000, 12, dept=dept, resource="shared.population")
        with pytest.raises(budgets.OverBudget, match="per day"):
            budgets.consume(conn, dept, "shared.population", "masked_filter", 3)


# item 8: separation of duties


def test_deciding_takes_a_provider_officer_and_never_ones_own_application(hub_store: Hub, api: str) -> None:
    _, key = hub_store.new_department()
    body = {"resource": "640100-RS-0001", "fields": ["person_no", "status"], "purpose": "低保家庭经济状况核对"}
    with client(api, key) as http:
        app_id = http.post("/v1/applications", json=body).json()["id"]
    with client(api, hub_store.keys["RS"]) as http:  # the provider's read key
        r = http.post(f"/v1/applications/{app_id}/decision", json={"decision": "approve"})
        assert r.status_code == 403 and "officer's credential" in r.json()["detail"]
    officer = hub_store.new_officer("RS")
    with officer_client(api, officer) as http:
        assert http.post(f"/v1/resources/{POPULATION}/query", json={}).status_code == 403  # an officer does not read
        r = http.post(f"/v1/applications/{app_id}/decision", json={"decision": "approve"})
        assert r.status_code == 200 and r.json()["status"] == "approved"
    with client(api, key) as http:
        assert http.post("/v1/resources/640100-RS-0001/query", json={"fields": ["person_no"]}).status_code == 200
    officer_id = officer[4:].split(".")[0]
    with hub_store.connect() as conn:
        decided = conn.execute(
            "SELECT detail FROM access.audit WHERE action = 'grant.approve' AND detail LIKE %s", (f"#{app_id} %",)
        ).fetchone()[0]
        assert f"officer {officer_id}" in decided
        own = grants.apply(conn, "GA", catalogue.resolve(POPULATION), ["phone"], "核实联系方式")  # GA's own field
    ga_officer = hub_store.new_officer("GA")
    with officer_client(api, ga_officer) as http:
        r = http.post(f"/v1/applications/{own}/decision", json={"decision": "approve"})
        assert r.status_code == 403 and "no department decides its own application" in r.json()["detail"]
    with hub_store.connect() as conn:
        assert conn.execute("SELECT status FROM access.application WHERE id = %s", (own,)).fetchone()[0] == "pending"
        refusals = conn.execute(
            "SELECT dept_code, action FROM access.audit WHERE outcome = 'refused' AND action LIKE 'grant.%%' "
            "AND dept_code IN ('RS', 'GA') ORDER BY seq"
        ).fetchall()
    assert ("RS", "grant.decide") in refusals and ("GA", "grant.approve") in refusals


def test_officer_credentials_are_issued_and_revoked_by_cli(hub_store: Hub, api: str, monkeypatch, capsys) -> None:
    from tests.conftest import connection_env

    monkeypatch.setenv("AIRFLOW_CONN_HUB_STORE", connection_env(hub_store.uri))
    assert main(["access", "officer", "--dept", "YB", "--name", "医保局数据审批科"]) == 2  # YB not registered
    assert "not registered" in capsys.readouterr().err
    assert main(["access", "officer", "--dept", "SC", "--name", "市场监管局数据审批科"]) == 0
    token = capsys.readouterr().out.split()[-1]
    assert token.startswith("sho_")
    with officer_client(api, token) as http:
        assert http.post("/v1/applications/999999/decision", json={"decision": "approve"}).status_code == 404
    assert main(["access", "revoke-officer", "--officer-id", token[4:].split(".")[0]]) == 0
    with officer_client(api, token) as http:
        r = http.post("/v1/applications/999999/decision", json={"decision": "approve"})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert main(["access", "budget", "--kind", "verify", "--per-minute", "x", "--per-day", "1"]) == 2


# item 10: malformed requests get a 4xx and an audit row


@pytest.mark.parametrize(
    ("purpose", "problem"),
    [("%00", "U+0000"), ("办理\u200b业务", "U+200B"), ("办理\u202e务业", "U+202E"), ("%ff%fe", "UTF-8")],
)
def test_bad_purposes_are_refused_and_audited(hub_store: Hub, api: str, purpose: str, problem: str) -> None:
    dept, key = hub_store.new_department()
    header = purpose if purpose.startswith("%") else quote(purpose)
    with client(api, key, purpose=None) as http:
        r = http.post(f"/v1/resources/{POPULATION}/query", json={"limit": 1}, headers={"X-Purpose": header})
    assert r.status_code == 400 and problem in r.json()["detail"]
    [row] = audit_rows(hub_store, dept)
    assert row[:2] == ("request", "refused") and problem in row[6]


def test_malformed_filter_values_get_400_and_an_audit_row(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    with hub_store.connect() as conn:
        app_id = grants.apply(conn, dept, catalogue.resolve("640100-ZW-0001"), ["case_no", "version"], "统计办件")
        grants.approve(conn, app_id, "ZW")
    bad = [
        (POPULATION, {"field": "gender", "op": "eq", "value": {"$ne": None}}, "not an object"),
        (POPULATION, {"field": "gender", "op": "in", "value": [["1"]]}, "not a list"),
        (POPULATION, {"field": "source_updated_at", "op": "eq", "value": "not a date"}, "does not fit"),
        (POPULATION, {"field": "gender", "op": "eq", "value": "1\u0000"}, "control character"),
        (POPULATION, {"field": "gender", "op": "eq", "value": 10**30}, "64 bits"),
        ("640100-ZW-0001", {"field": "version", "op": "eq", "value": 2**63}, "64 bits"),
        ("640100-SC-0001", {"field": "registered_capital", "op": "eq", "value": 10**15}, "does not fit"),  # (18,4)
        ("640100-ZW-0001", {"field": "version", "op": "gt", "value": float("inf")}, "finite"),
    ]
    with client(api, key) as http:
        for code, flt, problem in bad:
            body = json.dumps({"filters": [flt], "limit": 1})  # Python's json writes Infinity, as some clients do
            r = http.post(f"/v1/resources/{code}/query", content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 400 and problem in r.json()["detail"], (flt, r.text)
    rows = [a for a in audit_rows(hub_store, dept) if a[0] == "query"]
    assert [a[1] for a in rows] == ["refused"] * len(bad) and all("filters " in a[6] for a in rows)


NASTY = [
    {},
    {"$gt": ""},
    [],
    [[1]],
    10**30,
    2**40,
    -(2**63) - 1,
    1e308,
    "\x00",
    "\u202e",
    "\ud800",
    "a" * 5000,
    None,
    True,
    "' OR 1=1 --",
    "%00",
]


def _mutations(rng: random.Random, id_number: str, name: str) -> list[tuple[str, object]]:
    valid = {
        f"/v1/resources/{POPULATION}/query": {
            "fields": ["gender"],
            "filters": [{"field": "gender", "op": "eq", "value": "1"}],
            "limit": 5,
        },
        "/v1/verify/person": {"id_number": id_number, "name": name},
        "/v1/verify/entity": {"uscc": ACTIVE_USCC},
        "/v1/prefill": {"id_number": id_number, "case_no": "ZW000"},
        "/v1/objections": {"resource": POPULATION, "record_key": {"id_number": id_number}, "claim": "有误"},
        "/v1/applications": {"resource": POPULATION, "fields": ["phone"], "purpose": "核实"},
    }
    out: list[tuple[str, object]] = []
    for _ in range(120):
        path = rng.choice(list(valid))
        body = json.loads(json.dumps(valid[path]))
        target = body
        if path.endswith("/query") and rng.random() < 0.6:
            target = body["filters"][0]
        key = rng.choice(list(target))
        target[key] = rng.choice(NASTY)
        out.append((path, body))
    out += [(path, raw) for path in valid for raw in (b"{", b"\xff\xfe", b"[]", b"null", b'{"a": NaN}')]
    return out


def test_fuzzed_inputs_never_give_500_and_every_request_is_audited(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    id_number, name = _person(hub_store, 3)
    since = last_seq(hub_store)
    requests = _mutations(random.Random(14), id_number, name)
    with client(api, key) as http:
        for path, body in requests:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            r = http.post(path, content=content, headers={"Content-Type": "application/json"})
            assert r.status_code < 500, (path, body, r.text)
            assert r.status_code in (200, 400, 403, 404, 422, 429, 501), (path, r.status_code)
            assert "detail" in r.json() or r.status_code == 200
    audited = [a for a in audit_rows(hub_store, dept, since)]
    assert len(audited) >= len(requests)  # allowed or refused, each of these calls leaves a row
    assert id_number not in json.dumps(audited, ensure_ascii=False, default=str)


# item 11: prefill bound to an applicant


def test_prefill_needs_a_case_of_that_applicant_and_audits_a_digest(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    id_number, _ = _person(hub_store, 5)
    other, _ = _person(hub_store, 6)
    case_no = hub_store.new_case(id_number)
    with client(api, key) as http:
        assert http.post("/v1/prefill", json={"id_number": id_number}).status_code == 422  # no case named
        wrong = http.post("/v1/prefill", json={"id_number": other, "case_no": case_no})
        unknown = http.post("/v1/prefill", json={"id_number": other, "case_no": "ZW-NO-SUCH-CASE"})
        ok = http.post("/v1/prefill", json={"id_number": id_number, "case_no": case_no})
    assert wrong.status_code == unknown.status_code == 403
    assert wrong.json()["detail"].endswith("has no applicant with that identity number")
    assert unknown.json()["detail"].endswith("has no applicant with that identity number")  # no oracle on cases
    assert ok.status_code == 200 and ok.json()["sections"][POPULATION]
    rows = audit_rows(hub_store, dept)
    refused = [a for a in rows if a[0] == "prefill" and a[1] == "refused" and a[2] == "shared.service_case"]
    assert len(refused) == 2 and all(digest.keyed(other) in a[6] for a in refused)
    [read] = [a for a in rows if a[0] == "prefill" and a[1] == "allowed"]
    assert digest.keyed(id_number) in read[6] and case_no in read[6] and id_number not in read[6]
    assert [a for a in rows if a[0] == "request"]  # the request without a case was audited too


# item 13: keys validated at start


@pytest.fixture
def fresh_keys():
    cursor_token.reset()
    digest.reset()
    yield
    cursor_token.reset()
    digest.reset()


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("HUB_API_CURSOR_KEY", "00" * 16, "HUB_API_CURSOR_KEY must be 64 hex characters (32 bytes), not 32"),
        ("HUB_API_CURSOR_KEY", "zz" * 32, "HUB_API_CURSOR_KEY must be hex"),
        ("HUB_AUDIT_DIGEST_KEY", "00" * 33, "HUB_AUDIT_DIGEST_KEY must be 64 hex characters (32 bytes), not 66"),
        ("HUB_API_MAX_BODY_BYTES", "lots", "HUB_API_MAX_BODY_BYTES must be a number of bytes"),
    ],
)
def test_a_misconfigured_key_stops_the_start(
    hub_store: Hub, monkeypatch, capsys, fresh_keys, env: str, value: str, message: str
) -> None:
    from tests.conftest import connection_env

    monkeypatch.setenv(env, value)
    with pytest.raises(KeyConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_app(hub_store.uri)
    monkeypatch.setenv("AIRFLOW_CONN_HUB_STORE", connection_env(hub_store.uri))
    assert main(["api", "serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert message in err
    if "KEY" in env:
        assert value not in err  # a key is never echoed


def test_a_good_key_is_used_and_a_missing_one_warns(monkeypatch, capsys, fresh_keys) -> None:
    monkeypatch.setenv("HUB_API_CURSOR_KEY", "ab" * 32)
    token = cursor_token.encode(["x"], "MZ", "shared.population")
    cursor_token.reset()  # a restart with the same key still reads the cursor
    assert cursor_token.decode(token, "MZ", "shared.population") == ["x"]
    monkeypatch.delenv("HUB_AUDIT_DIGEST_KEY", raising=False)
    digest.load_key()
    assert "HUB_AUDIT_DIGEST_KEY is not set" in capsys.readouterr().err


def test_the_readme_flow_of_a_department_still_works(hub_store: Hub, api: str) -> None:
    _, key = hub_store.new_department()
    id_number, name = _person(hub_store, 8)
    with client(api, key) as http:
        assert http.get("/v1/catalog").status_code == 200
        page = http.post(f"/v1/resources/{POPULATION}/query", json={"limit": 2})
        assert page.status_code == 200 and page.json()["next_cursor"]
        nxt = http.post(f"/v1/resources/{POPULATION}/query", json={"limit": 2, "after": page.json()["next_cursor"]})
        assert nxt.status_code == 200 and len(nxt.json()["rows"]) == 2
        found = http.post(
            f"/v1/resources/{POPULATION}/query",
            json={"fields": ["gender"], "filters": [{"field": "id_number", "op": "eq", "value": id_number}]},
        )
        assert found.status_code == 200 and len(found.json()["rows"]) == 1
        assert http.post("/v1/verify/person", json={"id_number": id_number, "name": name}).json() == {"match": True}
        assert http.get("/docs").status_code == 200  # documentation needs no key
    with client(api, None) as http:
        assert http.get("/openapi.json").status_code == 200
    assert consumers.PREFIX == "shk_"
