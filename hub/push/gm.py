"""国密 primitives the push needs: SM3 digests, HMAC-SM3 and the canonical JSON that is signed."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any


def sm3_hex(data: bytes) -> str:
    """Lower-case hex SM3 digest of ``data``."""
    return hashlib.new("sm3", data).hexdigest()


def hmac_sm3_hex(key: bytes, message: bytes) -> str:
    """Lower-case hex HMAC-SM3 of ``message`` under ``key``."""
    return hmac.new(key, message, "sm3").hexdigest()


def canonical_json(value: Any) -> bytes:
    """UTF-8 canonical JSON: keys sorted, no spaces, non-ASCII kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_request(method: str, path: str, query: dict[str, str], timestamp: str, nonce: str, body: bytes) -> bytes:
    r"""The string the platform's ``X-Signature`` covers.

    ``METHOD\\nPATH\\nQUERY\\nX-Timestamp\\nX-Nonce\\nhex(SM3(body))``, QUERY being the parameters
    sorted by name and joined as ``a=1&b=2`` (empty when none).
    """
    query_text = "&".join(f"{k}={query[k]}" for k in sorted(query))
    return "\n".join((method.upper(), path, query_text, timestamp, nonce, sm3_hex(body))).encode("utf-8")


def request_signature(
    secret: str, method: str, path: str, query: dict[str, str], timestamp: str, nonce: str, body: bytes
) -> str:
    """``X-Signature``: lower-case hex HMAC-SM3(app_secret, canonical request)."""
    return hmac_sm3_hex(secret.encode("utf-8"), canonical_request(method, path, query, timestamp, nonce, body))


def digest_lines(lines: Iterable[str]) -> str:
    r"""Hex SM3 of the lines sorted and joined by ``\\n`` (the reconciliation digest of ``key:version`` lines)."""
    return sm3_hex("\n".join(sorted(lines)).encode("utf-8"))
