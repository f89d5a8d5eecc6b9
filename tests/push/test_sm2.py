"""The hub's SM2 (OpenSSL libcrypto) against gmssl's independent pure-Python SM2, both ways."""

from __future__ import annotations

import base64

import pytest
from gmssl import func as gmssl_func
from gmssl import sm2 as gmssl_sm2

from hub.push import sm2
from hub.push.signer import Sm2Signer, generate_sm2_keypair, make_signer

MESSAGE = '{"certificate_id":"1.2.156.3005.2.11100000MB0143028R001.11640100MB1720A11K.X.1","name":"张三"}'.encode()


def _gmssl(private: str, public: str) -> gmssl_sm2.CryptSM2:
    crypt = gmssl_sm2.CryptSM2(private_key=private, public_key=public, mode=1)
    crypt.public_key = public  # gmssl would lstrip("04") a key whose x starts with 04
    return crypt


def _gmssl_sign(private: str, public: str, message: bytes) -> bytes:
    crypt = _gmssl(private, public)
    return bytes.fromhex(crypt.sign_with_sm3(message, gmssl_func.random_hex(crypt.para_len)))


def _gmssl_verify(public: str, message: bytes, raw: bytes) -> bool:
    return bool(_gmssl("", public).verify_with_sm3(raw.hex(), message))


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return generate_sm2_keypair()


def test_generated_key_pair_is_the_one_gmssl_derives(keys) -> None:
    private, public = keys
    assert len(private) == 64 and len(public) == 128
    assert (
        gmssl_sm2.CryptSM2(private_key=private, public_key="", mode=1)._kg(
            int(private, 16), gmssl_sm2.default_ecc_table["g"]
        )
        == public
    )


def test_openssl_signature_verifies_with_gmssl(keys) -> None:
    private, public = keys
    for message in (MESSAGE, b"", b"x" * 5000):
        raw = sm2.Sm2Key(private, public).sign(message)
        assert len(raw) == 64
        assert _gmssl_verify(public, message, raw)
        assert not _gmssl_verify(public, message + b" ", raw)


def test_gmssl_signature_verifies_with_openssl(keys) -> None:
    private, public = keys
    key = sm2.Sm2Key(None, public)  # verify-only
    for message in (MESSAGE, b"", b"x" * 5000):
        raw = _gmssl_sign(private, public, message)
        assert key.verify(message, raw)
        assert not key.verify(message[:-1] + b"?", raw)
    assert not key.verify(MESSAGE, bytes(64)) and not key.verify(MESSAGE, b"short")


def test_a_tampered_message_or_signature_or_a_wrong_key_fails(keys) -> None:
    private, public = keys
    signer = Sm2Signer(private, public)
    signature = signer.sign(MESSAGE)
    assert signer.verify(MESSAGE, signature)
    assert not signer.verify(MESSAGE.replace("张三".encode(), "李四".encode()), signature)
    flipped = bytearray(base64.b64decode(signature))
    flipped[40] ^= 1
    assert not signer.verify(MESSAGE, base64.b64encode(bytes(flipped)).decode())
    other_private, other_public = generate_sm2_keypair()
    assert not Sm2Signer(other_private, other_public).verify(MESSAGE, signature)
    assert not _gmssl_verify(other_public, MESSAGE, base64.b64decode(signature))
    assert not sm2.Sm2Key(None, public).verify(MESSAGE, _gmssl_sign(other_private, other_public, MESSAGE))
    for junk in ("", "not base64!", base64.b64encode(b"x" * 63).decode()):
        assert not signer.verify(MESSAGE, junk)


@pytest.mark.parametrize("on_every_core", [False, True], ids=["calling-thread", "a-thread-per-core"])
def test_sign_many_signs_each_message_in_order(keys, on_every_core) -> None:
    signer = make_signer("sm2", *keys)
    signer.min_parallel = 10 if on_every_core else 1000
    messages = [f"certificate {i}".encode() for i in range(50)]
    try:
        signatures = signer.sign_many(messages)
    finally:
        signer.close()
    assert len(signatures) == 50 and len(set(signatures)) == 50  # random k: no two alike
    for message, signature in zip(messages, signatures, strict=True):
        assert _gmssl_verify(keys[1], message, base64.b64decode(signature))
    assert not signer.verify(messages[0], signatures[1])


def test_public_key_with_the_uncompressed_point_prefix(keys) -> None:
    private, public = keys
    raw = sm2.Sm2Key(private, "04" + public).sign(MESSAGE)
    assert sm2.Sm2Key(None, public).verify(MESSAGE, raw) and _gmssl_verify(public, MESSAGE, raw)


@pytest.mark.parametrize(
    ("private", "public", "match"),
    [
        (None, "00" * 64, "not a valid SM2 key"),  # not on the curve
        (None, "abcd", "64 bytes"),
        ("00" * 32, None, "private key"),
        ("ff" * 32, None, "private key"),  # above the group order
        ("12" * 31, None, "private key"),
    ],
)
def test_malformed_keys_are_refused_with_a_clear_error(keys, private, public, match) -> None:
    with pytest.raises(ValueError, match=match):
        sm2.Sm2Key(private, public or keys[1])


def test_a_private_key_that_does_not_match_the_public_key_signs_nothing_valid(keys) -> None:
    other_private, _ = generate_sm2_keypair()
    try:
        raw = sm2.Sm2Key(other_private, keys[1]).sign(MESSAGE)
    except (ValueError, sm2.OpenSslError):
        return  # refused outright: fine too
    assert not _gmssl_verify(keys[1], MESSAGE, raw) and not sm2.Sm2Key(None, keys[1]).verify(MESSAGE, raw)


@pytest.mark.parametrize("r_first", [b"\x00" * 31 + b"\x01", b"\x80" + b"\x00" * 31, b"\x00\x7f" + b"\xff" * 30])
def test_raw_and_der_convert_both_ways(r_first) -> None:
    raw = r_first + bytes(range(1, 33))
    der = sm2.der_from_raw(raw)
    assert der[0] == 0x30 and sm2.raw_from_der(der) == raw
    with pytest.raises(ValueError):
        sm2.raw_from_der(der[:-1])
    with pytest.raises(ValueError):
        sm2.der_from_raw(raw[:-1])
