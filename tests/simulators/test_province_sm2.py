"""The platform's own SM2 verification (GB/T 32918.2 over libcrypto's EC arithmetic) against gmssl and the hub."""

from __future__ import annotations

import base64

import pytest
from gmssl import func as gmssl_func
from gmssl import sm2 as gmssl_sm2

from hub.push.signer import Sm2Signer
from simulators.province import crypto

MESSAGE = crypto.canonical_json({"certificate_id": "X.1", "holder_name": "银川市某某有限公司", "version": 1})


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return crypto.sm2_keypair()


def _gmssl_sign(private: str, public: str, message: bytes) -> str:
    signer = gmssl_sm2.CryptSM2(private_key=private, public_key=public, mode=1)
    raw = signer.sign_with_sm3(message, gmssl_func.random_hex(signer.para_len))
    return base64.b64encode(bytes.fromhex(raw)).decode()


def _forge(signature: str, r: int | None = None, s: int | None = None) -> str:
    raw = base64.b64decode(signature)
    r = int.from_bytes(raw[:32], "big") if r is None else r
    s = int.from_bytes(raw[32:], "big") if s is None else s
    return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


@pytest.fixture(params=["libcrypto", "gmssl fallback"])
def verifier_of(request, monkeypatch):
    if request.param == "gmssl fallback":

        def no_libcrypto(point: bytes) -> None:
            raise OSError("libcrypto not found")

        monkeypatch.setattr(crypto, "_FixedBaseCurve", no_libcrypto)
    return crypto.Sm2Verifier


def test_signatures_of_gmssl_and_of_the_hub_verify_and_tampering_fails(keys, verifier_of) -> None:
    private, public = keys
    verifier = verifier_of(public)
    for signature in (_gmssl_sign(private, public, MESSAGE), Sm2Signer(private, public).sign(MESSAGE)):
        assert verifier.verify(MESSAGE, signature)
        assert not verifier.verify(MESSAGE.replace("某某".encode(), "某甲".encode()), signature)
        assert not verifier.verify(MESSAGE, _forge(signature, r=int.from_bytes(base64.b64decode(signature)[:32]) ^ 1))
        assert not verifier.verify(MESSAGE, _forge(signature, s=0))
        assert not verifier.verify(MESSAGE, _forge(signature, r=crypto.SM2_N))
    other_private, other_public = crypto.sm2_keypair()
    assert not verifier.verify(MESSAGE, _gmssl_sign(other_private, other_public, MESSAGE))  # a wrong key
    assert not verifier_of(other_public).verify(MESSAGE, Sm2Signer(private, public).sign(MESSAGE))


def test_verify_many_keeps_the_order(keys, verifier_of) -> None:
    private, public = keys
    signer = Sm2Signer(private, public)
    messages = [f"certificate {i}".encode() for i in range(40)]
    signatures = signer.sign_many(messages)
    signatures[7], signatures[8] = signatures[8], signatures[7]
    signatures[30] = "AAAA"
    expected = [i not in (7, 8, 30) for i in range(40)]
    assert verifier_of(public).verify_many(list(zip(messages, signatures, strict=True))) == expected


def test_a_public_key_off_the_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="not a point of the curve"):
        crypto.Sm2Verifier("00" * 64)
    with pytest.raises(ValueError, match="64 bytes"):
        crypto.Sm2Verifier("abcd")
    with pytest.raises(ValueError, match="not hex"):
        crypto.Sm2Verifier("zz" * 64)
