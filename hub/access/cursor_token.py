"""Opaque keyset-pagination cursors.

A cursor carries the last row's key, which may be a personal value the caller sees masked, so
it is encrypted (SM4-CTR) and authenticated (HMAC-SM3, encrypt-then-MAC) and bound to the
department and resource. The key comes from ``HUB_API_CURSOR_KEY`` (64 hex characters); without
it a random key per process is used, so cursors do not survive a restart. :func:`load_key` is
called when the API starts: a key of the wrong length stops the start, and the key is fixed before
concurrent requests race to create it.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hub.access.keyconfig import hex_key

ENV = "HUB_API_CURSOR_KEY"
_lock = threading.Lock()
_loaded: tuple[bytes, bytes] | None = None


class CursorError(ValueError):
    """A cursor that was tampered with, or issued to another department or resource."""


def load_key() -> None:
    """Read and check ``HUB_API_CURSOR_KEY`` once (idempotent, thread-safe).

    Raises:
        KeyConfigError: the key is set but is not 64 hex characters.
    """
    _keys()


def _keys() -> tuple[bytes, bytes]:
    global _loaded
    if _loaded is None:
        with _lock:  # without the lock, two first requests could each draw a different random key
            if _loaded is None:
                material = hex_key(ENV, 32, purpose="paging cursors")
                _loaded = material[:16], material[16:]
    return _loaded


def reset() -> None:
    """Forget the loaded key (tests that change the environment)."""
    global _loaded
    with _lock:
        _loaded = None


def encode(values: list, dept: str, resource: str) -> str:
    """Encrypt the key ``values`` of the last row into a URL-safe token."""
    enc_key, mac_key = _keys()
    nonce = secrets.token_bytes(16)
    plain = json.dumps([dept, resource, values], default=str, ensure_ascii=False).encode()
    body = Cipher(algorithms.SM4(enc_key), modes.CTR(nonce)).encryptor().update(plain)
    tag = hmac.new(mac_key, nonce + body, "sm3").digest()
    return base64.urlsafe_b64encode(nonce + body + tag).decode().rstrip("=")


def decode(token: str, dept: str, resource: str) -> list:
    """The key values in ``token``.

    Raises:
        CursorError: the token is malformed, forged, or not issued for ``dept`` and ``resource``.
    """
    enc_key, mac_key = _keys()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as err:
        raise CursorError("malformed cursor") from err
    if len(raw) < 48:
        raise CursorError("malformed cursor")
    nonce, body, tag = raw[:16], raw[16:-32], raw[-32:]
    if not hmac.compare_digest(tag, hmac.new(mac_key, nonce + body, "sm3").digest()):
        raise CursorError("cursor does not verify")
    d, r, values = json.loads(Cipher(algorithms.SM4(enc_key), modes.CTR(nonce)).decryptor().update(body))
    if (d, r) != (dept, resource):
        raise CursorError("cursor was issued for another department or resource")
    return values
