"""SM3 / HMAC-SM3 of the request signature, checked against an independent implementation."""

from __future__ import annotations

from gmssl import sm3 as gmssl_sm3

from hub.push.gm import canonical_json, canonical_request, request_signature, sm3_hex


def _gmssl_sm3(data: bytes) -> bytes:
    return bytes.fromhex(gmssl_sm3.sm3_hash(list(data)))


def _hand_hmac_sm3(key: bytes, message: bytes) -> str:
    """RFC 2104 by hand over gmssl's pure-Python SM3 (block size 64)."""
    if len(key) > 64:
        key = _gmssl_sm3(key)
    key = key.ljust(64, b"\0")
    inner = _gmssl_sm3(bytes(k ^ 0x36 for k in key) + message)
    return _gmssl_sm3(bytes(k ^ 0x5C for k in key) + inner).hex()


def test_sm3_test_vector() -> None:
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert _gmssl_sm3(b"abc").hex() == sm3_hex(b"abc")


def test_canonical_request_layout() -> None:
    body = b'{"batch_id":"b1","records":[]}'
    text = canonical_request("post", "/api/v1/cases/batch", {}, "1767225600000", "n" * 16, body).decode()
    assert text.split("\n") == ["POST", "/api/v1/cases/batch", "", "1767225600000", "n" * 16, sm3_hex(body)]
    get = canonical_request("GET", "/api/v1/reconciliation", {"kind": "cases", "date": "2026-11-02"}, "1", "x", b"")
    assert get.decode().split("\n")[2] == "date=2026-11-02&kind=cases"
    assert get.decode().split("\n")[5] == sm3_hex(b"")


def test_signature_of_a_fixed_request_matches_a_hand_written_hmac_sm3() -> None:
    secret = "s3cret-银川"
    body = canonical_json({"batch_id": "cases-1", "records": [{"case_no": "SQ1", "version": 1}]})
    args = ("POST", "/api/v1/cases/batch", {}, "1767225600000", "0123456789abcdef0123")
    expected_message = "\n".join([*args[:2], "", *args[3:], _gmssl_sm3(body).hex()]).encode()
    ours = request_signature(secret, *args, body)
    assert ours == _hand_hmac_sm3(secret.encode(), expected_message)
    assert ours == ours.lower() and len(ours) == 64
    long_key = "k" * 100  # keys longer than the block are hashed first
    assert request_signature(long_key, *args, body) == _hand_hmac_sm3(long_key.encode(), expected_message)


def test_canonical_json_sorts_keys_without_spaces() -> None:
    assert canonical_json({"b": 1, "a": {"d": None, "c": "照"}}) == '{"a":{"c":"照","d":null},"b":1}'.encode()


def test_request_signatures_agree_with_the_platforms_own_code_and_a_changed_request_fails() -> None:
    from simulators.province.crypto import expected_signature

    secret = "s3cret-银川"
    body = canonical_json({"batch_id": "certificates-1", "records": [{"certificate_id": "X", "version": 1}]})
    args = ("POST", "/api/v1/certificates/batch", {}, "1767225600000", "0123456789abcdef0123")
    ours = request_signature(secret, *args, body)
    hand = _hand_hmac_sm3(secret.encode(), "\n".join([*args[:2], "", *args[3:], _gmssl_sm3(body).hex()]).encode())
    assert expected_signature(secret, *args, body) == ours == hand  # the hub's, the platform's and gmssl's
    assert expected_signature(secret, *args, body.replace(b'"version":1', b'"version":2')) != ours
    assert expected_signature(secret, *args[:4], "another-nonce-0000", body) != ours
    assert expected_signature("another secret", *args, body) != ours
