"""Certificates follow their source: identifiers, versions, signatures and the outbox in one transaction."""

from __future__ import annotations

import base64
import json

import psycopg
import pytest

from hub.faults import InjectedFault
from hub.push import identifier
from hub.push.cases import derive_cases
from hub.push.certificates import BUSINESS_LICENCE, derive_certificates
from hub.push.gm import canonical_json
from hub.push.signer import Sm2Signer, generate_sm2_keypair, make_signer
from simulators.province import shared_rows


@pytest.fixture(scope="module")
def signer() -> Sm2Signer:
    private, public = generate_sm2_keypair()
    return Sm2Signer(private, public)


def _certs(store: str, holder: str) -> list[tuple]:
    with psycopg.connect(store) as conn:
        return conn.execute(
            "SELECT certificate_id, series, version, status, face, signature FROM shared.e_certificate "
            "WHERE holder_id = %s ORDER BY version",
            (holder,),
        ).fetchall()


def _outbox(store: str, key: str) -> dict:
    with psycopg.connect(store) as conn:
        return conn.execute("SELECT payload FROM hub.push_outbox WHERE record_key = %s", (key,)).fetchone()[0]


def test_a_revoked_entity_gets_a_new_licence_version_with_status_revoked(store, signer) -> None:
    uscc, other = shared_rows.insert_entities(store, 2)
    first = derive_certificates(store, signer, "r1")
    assert first == {"checked": 2, "new": 2, "versions": 0, "unchanged": 0}
    with psycopg.connect(store) as conn:
        conn.execute("UPDATE shared.market_entity SET status = 'REVOKED' WHERE uscc = %s", (uscc,))
    second = derive_certificates(store, signer, "r2")
    assert second == {"checked": 1, "new": 0, "versions": 1, "unchanged": 0}
    (v1_id, series1, v1, s1, _, _), (v2_id, series2, v2, s2, _, sig2) = _certs(store, uscc)
    assert (v1, s1, v2, s2) == (1, "VALID", 2, "REVOKED")
    assert series1 == series2 and v1_id.startswith(series1) and v2_id.startswith(series1)
    assert identifier.parse(v2_id).version == 2 and identifier.verify(v2_id)
    assert identifier.parse(v2_id).type_code == BUSINESS_LICENCE.code
    assert identifier.parse(v2_id).serial == uscc  # serial stable per certificate
    payload = _outbox(store, v2_id)
    assert payload["status"] == "REVOKED" and payload["version"] == 2
    unsigned = {k: v for k, v in payload.items() if k != "signature"}
    assert signer.verify(canonical_json(unsigned), payload["signature"]) and payload["signature"] == sig2
    assert not signer.verify(canonical_json({**unsigned, "status": "VALID"}), payload["signature"])
    assert len(_certs(store, other)) == 1
    with psycopg.connect(store) as conn:
        conn.execute("UPDATE shared.market_entity SET status = 'CANCELLED' WHERE uscc = %s", (uscc,))
    derive_certificates(store, signer, "r3")
    assert [c[3] for c in _certs(store, uscc)] == ["VALID", "REVOKED", "CANCELLED"]


def test_only_face_or_status_changes_make_versions(store, signer) -> None:
    (uscc,) = shared_rows.insert_entities(store, 1)
    derive_certificates(store, signer, "r1")
    with psycopg.connect(store) as conn:  # not on the licence: no new version
        conn.execute("UPDATE shared.market_entity SET region_code = '640105' WHERE uscc = %s", (uscc,))
    assert derive_certificates(store, signer, "r2")["versions"] == 0
    with psycopg.connect(store) as conn:  # the address is printed on the licence
        conn.execute("UPDATE shared.market_entity SET address = '宁夏银川市金凤区1号' WHERE uscc = %s", (uscc,))
    assert derive_certificates(store, signer, "r3")["versions"] == 1
    certs = _certs(store, uscc)
    assert [c[2] for c in certs] == [1, 2] and json.loads(certs[1][4])["住所"] == "宁夏银川市金凤区1号"
    assert derive_certificates(store, signer, "r4") == {"checked": 0, "new": 0, "versions": 0, "unchanged": 0}


def test_a_social_security_card_per_issued_card(store, signer) -> None:
    persons = shared_rows.insert_cards(store, 3)
    with psycopg.connect(store) as conn:
        conn.execute("UPDATE shared.social_insurance SET card_no = NULL WHERE person_no = %s", (persons[2],))
        id_number = conn.execute(
            "SELECT id_number FROM shared.social_insurance WHERE person_no = %s LIMIT 1", (persons[0],)
        ).fetchone()[0]
    assert derive_certificates(store, signer, "r1")["new"] == 2  # one per person, not per insurance type
    ((cid, _, _, status, face, _),) = _certs(store, id_number)
    payload = _outbox(store, cid)
    assert payload["holder_id_type"] == "111" and payload["type_name"] == "社会保障卡" and status == "VALID"
    assert json.loads(face)["社会保障卡号"] == payload["number"]
    with psycopg.connect(store) as conn:  # card re-issued: new number, same certificate, new version
        conn.execute("UPDATE shared.social_insurance SET card_no = 'NEW1' WHERE person_no = %s", (persons[0],))
    derive_certificates(store, signer, "r2")
    certs = _certs(store, id_number)
    assert [c[2] for c in certs] == [1, 2] and certs[0][1] == certs[1][1]


def test_a_crash_before_the_outbox_row_leaves_no_certificate(store, signer, monkeypatch) -> None:
    shared_rows.insert_entities(store, 3)
    monkeypatch.setenv("HUB_FAILPOINTS", "derive.between_certificate_and_outbox")
    with pytest.raises(InjectedFault):
        derive_certificates(store, signer, "r1")
    with psycopg.connect(store) as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("shared.e_certificate", "hub.push_outbox", "hub.certificate_source")
        ]
    assert counts == [0, 0, 0]
    monkeypatch.delenv("HUB_FAILPOINTS")
    assert derive_certificates(store, signer, "r1")["new"] == 3
    with psycopg.connect(store) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM shared.e_certificate c JOIN hub.push_outbox o ON o.record_key = c.certificate_id"
            ).fetchone()[0]
            == 3
        )


def test_each_new_case_version_is_one_case_record_version(store) -> None:
    cases = shared_rows.insert_cases(store, 4, version=1)
    assert derive_cases(store) == {"versions": 4}
    assert derive_cases(store) == {"versions": 0}
    shared_rows.insert_cases(store, 2, version=3)  # two cases jump to version 3
    assert derive_cases(store) == {"versions": 2}
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT record_key, version, payload FROM hub.push_outbox WHERE kind = 'cases' ORDER BY 1, 2"
        ).fetchall()
    assert [(k, v) for k, v, _ in rows] == sorted([(c, 1) for c in cases] + [(c, 3) for c in cases[:2]])
    payload = rows[1][2]
    assert payload["status"] == "PROCESSING" and payload["submitted_at"].endswith("+08:00")


def test_signature_scheme_is_configurable_and_unknown_schemes_refused(signer) -> None:
    assert make_signer("sm2", None, signer.public_key).verify(b"x", signer.sign(b"x"))
    with pytest.raises(ValueError, match="unknown signature scheme"):
        make_signer("rsa", None, signer.public_key)


def test_a_chunk_signed_on_every_core_verifies_with_gmssl_both_ways(store) -> None:
    from gmssl import func as gmssl_func
    from gmssl import sm2 as gmssl_sm2

    from simulators.province.crypto import Sm2Verifier

    private, public = generate_sm2_keypair()
    chunk_signer = Sm2Signer(private, public)
    chunk_signer.min_parallel = 8  # the chunk is signed on the thread per core, as a full-size derive is
    shared_rows.insert_entities(store, 12)
    try:
        assert derive_certificates(store, chunk_signer, "gm")["new"] == 12
    finally:
        chunk_signer.close()
    with psycopg.connect(store) as conn:
        payloads = [r[0] for r in conn.execute("SELECT payload FROM hub.push_outbox WHERE kind = 'certificates'")]
    gm = gmssl_sm2.CryptSM2(private_key=private, public_key=public, mode=1)
    gm.public_key = public  # gmssl would lstrip("04") a key whose x starts with 04
    platform = Sm2Verifier(public)
    for payload in payloads[:4]:
        unsigned = {k: v for k, v in payload.items() if k != "signature"}
        message = canonical_json(unsigned)
        raw = base64.b64decode(payload["signature"])
        assert gm.verify_with_sm3(raw.hex(), message)  # ours, checked by gmssl
        assert platform.verify(message, payload["signature"])
        tampered = canonical_json({**unsigned, "holder_name": unsigned["holder_name"] + "甲"})
        assert not gm.verify_with_sm3(raw.hex(), tampered)
        theirs = bytes.fromhex(gm.sign_with_sm3(message, gmssl_func.random_hex(gm.para_len)))
        assert chunk_signer.verify(message, base64.b64encode(theirs).decode())  # gmssl's, checked by ours
        assert not chunk_signer.verify(message.replace(b'"VALID"', b'"REVOKED"'), base64.b64encode(theirs).decode())
