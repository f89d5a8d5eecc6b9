"""The platform's own 国密 code, written from the published interface, independent of the hub's.

The simulator checks what the hub sends with this second implementation, so an error in the
hub's request signing or certificate signatures shows up as a refusal instead of being shared by
both sides: SM3 and HMAC-SM3 from the standard library (OpenSSL), the canonical request and JSON
as the interface document states them, SM2 signatures verified with ``gmssl`` directly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from typing import Any


def sm3(data: bytes) -> str:
    """Lower-case hex SM3 of ``data``."""
    return hashlib.new("sm3", data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with keys sorted and no spaces (what a certificate signature covers)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def expected_signature(
    secret: str, method: str, path: str, query: dict[str, str], timestamp: str, nonce: str, body: bytes
) -> str:
    r"""``X-Signature`` as the interface defines it.

    Lower-case hex HMAC-SM3(app_secret, ``METHOD\nPATH\nQUERY\nX-Timestamp\nX-Nonce\nhex(SM3(body))``),
    QUERY being the parameters sorted by name and joined as ``a=1&b=2``.
    """
    query_text = "&".join(f"{name}={query[name]}" for name in sorted(query))
    canonical = f"{method}\n{path}\n{query_text}\n{timestamp}\n{nonce}\n{sm3(body)}"
    return hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), "sm3").hexdigest()


def reconciliation_digest(lines: Iterable[str]) -> str:
    r"""Hex SM3 of the sorted ``key:version`` lines joined by ``\n``."""
    return sm3("\n".join(sorted(lines)).encode("utf-8"))


class Sm2Verifier:
    """Verifies the issuer's SM2 signatures (SM3 with the default user id, base64 of ``r||s``)."""

    def __init__(self, public_key: str) -> None:
        from gmssl import sm2

        self._sm2 = sm2.CryptSM2(private_key="", public_key=public_key, mode=1)
        # gmssl lstrip("04")s a key starting with 04, eating x's first digits too: take x||y as given
        self._sm2.public_key = public_key[2:] if len(public_key) == 130 else public_key

    def verify(self, message: bytes, signature: str) -> bool:
        """Whether ``signature`` is a valid SM2 signature of ``message``; malformed input is not."""
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        if len(raw) != 64:
            return False
        try:
            return bool(self._sm2.verify_with_sm3(raw.hex(), message))
        except (ValueError, TypeError, ZeroDivisionError):
            return False


def sm2_keypair() -> tuple[str, str]:
    """A new SM2 key pair ``(private_hex, public_hex)``, public as ``x||y`` (the issuer's key for a simulation)."""
    from gmssl import sm2

    curve = sm2.default_ecc_table
    d = 1 + secrets.randbelow(int(curve["n"], 16) - 2)
    private = f"{d:064x}"
    return private, sm2.CryptSM2(private_key=private, public_key="", mode=1)._kg(d, curve["g"])
