"""The provincial platform simulator follows the published interface."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from hub.push import identifier
from hub.push.gm import canonical_json, request_signature
from hub.push.provincial_client import AuthFailedError, BatchRefusedError, ClientSettings, ProvincialClient
from hub.push.signer import Sm2Signer, generate_sm2_keypair
from simulators.province.faults import FaultConfig
from simulators.province.provision import APP_ID, provision
from simulators.province.shared_rows import case_row, identity_numbers, usccs
from tests.conftest import ADMIN_URI

PATH = "/api/v1/cases/batch"


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple]:
    running = provision(ADMIN_URI, f"sim_province_{uuid.uuid4().hex[:8]}", FaultConfig(quota_rps=0), in_thread=True)
    conn = json.loads(running.env["AIRFLOW_CONN_PROVINCIAL_PLATFORM"])
    signer_conn = json.loads(running.env["AIRFLOW_CONN_CERTIFICATE_SIGNER"])
    signer = Sm2Signer(signer_conn["password"], signer_conn["extra"]["public_key"])
    yield running, conn["password"], signer
    running.stop()


def _client(running, secret: str, **kw) -> ProvincialClient:
    return ProvincialClient(ClientSettings(running.url, APP_ID, secret, timeout=5, backoff_base=0.01, **kw))


def _case(case_no: str, version: int = 1, status: str | None = None) -> dict:
    row = case_row(case_no, version, identity_numbers(1, 5)[0], status)
    row = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    row.pop("last_step_no"), row.pop("source_updated_at")
    return row


def _cert(signer: Sm2Signer, serial: str, version: int = 1, **changes) -> dict:
    holder = usccs(1, 9)[0]
    rec = {
        "certificate_id": identifier.build("11100000MB0143028R001", "11640100MB1720A11K", serial, version),
        "version": version,
        "type_code": "11100000MB0143028R001",
        "type_name": "营业执照",
        "number": holder,
        "holder_name": "宁夏测试有限公司",
        "holder_id": holder,
        "holder_id_type": "001",
        "issuer_name": "银川市市场监督管理局",
        "issuer_code": "11640100MB1720A11K",
        "issue_date": "2020-01-02",
        "valid_from": "2020-01-02",
        "valid_to": None,
        "status": "VALID",
        "face": {"名称": "宁夏测试有限公司"},
        **changes,
    }
    rec["signature"] = signer.sign(canonical_json(rec))
    return rec


def _raw(running, secret: str, body: bytes, ts: int | None = None, nonce: str | None = None, sig: str | None = None):
    ts_text = str(ts if ts is not None else int(time.time() * 1000))
    nonce = nonce or uuid.uuid4().hex
    headers = {
        "X-App-Id": APP_ID,
        "X-Timestamp": ts_text,
        "X-Nonce": nonce,
        "X-Signature": sig or request_signature(secret, "POST", PATH, {}, ts_text, nonce, body),
    }
    return requests.post(running.url + PATH, data=body, headers=headers, timeout=10)


def test_authentication(sim) -> None:
    running, secret, _ = sim
    body = canonical_json({"batch_id": "auth-1", "records": [_case("SQAUTH1")]})
    assert _raw(running, secret, body).status_code == 200
    for resp, why in [
        (_raw(running, "wrong-secret", body), "X-Signature"),
        (_raw(running, secret, body, ts=int(time.time() * 1000) - 301_000), "300 s"),
        (_raw(running, secret, body, nonce="short"), "16-64"),
        (_raw(running, secret, body, sig="0" * 64), "X-Signature"),
    ]:
        assert resp.status_code == 401 and resp.json()["code"] == "AUTH_FAILED" and why in resp.json()["message"]
    nonce = uuid.uuid4().hex
    assert _raw(running, secret, body, nonce=nonce).status_code == 200
    replay = _raw(running, secret, body, nonce=nonce)
    assert replay.status_code == 401 and "replay" in replay.json()["message"]
    with pytest.raises(AuthFailedError, match="provincial_platform"):
        _client(running, "wrong-secret").send_batch("cases", "b", [_case("SQAUTH2")])


def test_whole_batch_refusals(sim) -> None:
    running, secret, _ = sim
    client = _client(running, secret)
    with pytest.raises(BatchRefusedError) as too_many:
        client.send_batch("cases", "big", [_case(f"SQBIG{i}") for i in range(501)])
    assert too_many.value.status == 400 and too_many.value.code == "BAD_BATCH"
    huge = [_case(f"SQHUGE{i}") | {"item_name": "x" * 12_000} for i in range(450)]
    with pytest.raises(BatchRefusedError) as too_big:
        client.send_batch("cases", "huge", huge)
    assert too_big.value.status == 413
    bad = _raw(running, secret, b'{"records": []}')
    assert bad.status_code == 400 and bad.json()["code"] == "BAD_BATCH"
    held = requests.get(running.url + "/admin/records", params={"kind": "cases"}, timeout=10).json()
    assert not any(k.startswith(("SQBIG", "SQHUGE")) for k in held)  # nothing of a refused batch stored


def test_case_versions_and_transitions(sim) -> None:
    running, secret, _ = sim
    client = _client(running, secret)
    statuses = lambda res: [(r["status"], r["code"]) for r in res]  # noqa: E731
    first = client.send_batch("cases", "c1", [_case("SQV1", 1), _case("SQV1", 2), _case("SQV2", 4)])
    assert statuses(first) == [("ACCEPTED", None)] * 3
    again = client.send_batch("cases", "c1", [_case("SQV1", 1), _case("SQV1", 2), _case("SQV2", 4)])
    assert statuses(again) == [("DUPLICATE", None)] * 3
    res = client.send_batch(
        "cases",
        "c2",
        [
            _case("SQV1", 2) | {"satisfaction": 1},  # same key and version, other content
            _case("SQV2", 2),  # below the stored version 4, never stored itself
            _case("SQV2", 5, "PROCESSING"),  # COMPLETED -> PROCESSING
            _case("SQV3", 1) | {"channel": "FAX"},
            _case("SQV4", 1) | {"applicant_id": "640104199001011230"},
            _case("SQV5", 1) | {"dept_code": "11640100MB1899011K"},
            _case("SQV6", 1) | {"submitted_at": "2026-11-02T09:00:00"},
            _case("SQV1", 3),
        ],
    )
    assert statuses(res) == [
        ("REJECTED", "VERSION_CONFLICT"),
        ("REJECTED", "STALE_VERSION"),
        ("REJECTED", "ILLEGAL_TRANSITION"),
        ("REJECTED", "INVALID_FIELD"),
        ("REJECTED", "BAD_CHECKSUM"),
        ("REJECTED", "BAD_CHECKSUM"),
        ("REJECTED", "INVALID_FIELD"),
        ("ACCEPTED", None),
    ]
    assert "channel" in res[3]["message"] and "applicant_id" in res[4]["message"]
    assert "640104199001011230" not in json.dumps(res)  # no personal data in messages


def test_certificate_checks(sim) -> None:
    running, secret, signer = sim
    client = _client(running, secret)
    good = _cert(signer, "SERIALA")
    forged = _cert(Sm2Signer(*generate_sm2_keypair()), "SERIALB")
    wrong_check = _cert(signer, "SERIALC")
    wrong_check["certificate_id"] = wrong_check["certificate_id"][:-1] + (
        "1" if wrong_check["certificate_id"][-1] != "1" else "2"
    )
    tampered = _cert(signer, "SERIALD") | {"holder_name": "改名"}
    bad_holder = _cert(signer, "SERIALE", holder_id="91640104MAFJMEL973")
    mismatch = _cert(signer, "SERIALF") | {"version": 2}
    res = client.send_batch("certificates", "k1", [good, forged, wrong_check, tampered, bad_holder, mismatch])
    assert [(r["status"], r["code"]) for r in res] == [
        ("ACCEPTED", None),
        ("REJECTED", "BAD_SIGNATURE"),
        ("REJECTED", "BAD_CHECKSUM"),
        ("REJECTED", "BAD_SIGNATURE"),
        ("REJECTED", "BAD_CHECKSUM"),
        ("REJECTED", "INVALID_FIELD"),
    ]
    revoked = _cert(signer, "SERIALA", 2, status="REVOKED")
    res = client.send_batch("certificates", "k2", [revoked, good, _cert(signer, "SERIALA", 1, holder_name="x")])
    assert [(r["status"], r["code"]) for r in res] == [
        ("ACCEPTED", None),
        ("DUPLICATE", None),
        ("REJECTED", "VERSION_CONFLICT"),
    ]


def test_reconciliation_digest(sim) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from hub.push.gm import sm3_hex

    running, secret, _ = sim
    client = _client(running, secret)
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    held = requests.get(running.url + "/admin/records", params={"kind": "cases"}, timeout=10).json()
    got = client.reconciliation("cases", today)
    assert got["accepted"] == len(held) > 0
    assert got["digest"] == sm3_hex("\n".join(sorted(held)).encode())
    empty = client.reconciliation("cases", "2000-01-01")
    assert empty["accepted"] == 0 and empty["digest"] == sm3_hex(b"")


def test_quota_answers_429_with_retry_after(sim) -> None:
    running, secret, _ = sim
    running.set_faults(quota_rps=5, retry_after=2)
    try:
        statuses = []
        for i in range(10):
            body = canonical_json({"batch_id": f"q{i}", "records": [_case(f"SQQ{i}")]})
            resp = _raw(running, secret, body)
            statuses.append((resp.status_code, resp.headers.get("Retry-After")))
    finally:
        running.set_faults(quota_rps=0)
    assert statuses[:5] == [(200, None)] * 5
    assert (429, "2") in statuses[5:]
