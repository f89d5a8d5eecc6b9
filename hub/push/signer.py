"""Certificate signatures behind a small interface, so another scheme can be configured.

The issuer's key comes from the Airflow connection ``certificate_signer``: ``password`` is the
private key (hex), extra ``public_key`` the public key (hex, ``x||y``) and extra ``scheme`` the
signature scheme (default ``sm2``: SM2 with SM3 per GB/T 32918, user id ``1234567812345678``,
through OpenSSL 3's libcrypto, see :mod:`hub.push.sm2`). A signature is the base64 of the
64-byte ``r||s``. ``sign_many`` spreads a list over a thread per core: libcrypto runs without
the GIL, so a batch signs on every core of the machine. (A process per core was tried: in
paired runs on the loaded 2-core machine it cost more CPU per certificate than the threads.)
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from connectors.connections import require_connection
from hub.push import sm2

SIGNER_CONN_ID = "certificate_signer"
DEFAULT_SCHEME = "sm2"
_POOL: ThreadPoolExecutor | None = None


class Signer(Protocol):
    """Signs the canonical JSON of a certificate."""

    scheme: str

    def sign(self, message: bytes) -> str:
        """Return the base64 signature of ``message``."""
        ...

    def sign_many(self, messages: Sequence[bytes]) -> list[str]:
        """The base64 signatures of ``messages``, in order (on every core when the scheme allows)."""
        ...

    def verify(self, message: bytes, signature: str) -> bool:
        """Whether ``signature`` (base64) is a valid signature of ``message``."""
        ...

    def close(self) -> None:
        """Release what ``sign_many`` holds, if anything."""
        ...


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="sm2-sign")
    return _POOL


class Sm2Signer:
    """SM2 signatures (SM3 digest with the default user id), ``r||s`` encoded as 64 bytes then base64."""

    scheme = "sm2"
    min_parallel = 16
    """Fewer messages than this are signed in the calling thread."""

    def __init__(self, private_key: str | None, public_key: str) -> None:
        """Hold the key in libcrypto.

        Raises:
            ValueError: if a key is malformed or not on the SM2 curve.
        """
        self._key = sm2.Sm2Key(private_key or None, public_key)
        self.public_key = public_key

    def sign(self, message: bytes) -> str:
        """Sign ``message`` (SM3 with the Z value, random k)."""
        return base64.b64encode(self._key.sign(message)).decode("ascii")

    def sign_many(self, messages: Sequence[bytes]) -> list[str]:
        """Sign every message, in slices spread over a thread per core (libcrypto releases the GIL)."""
        workers = os.cpu_count() or 1
        if len(messages) < max(self.min_parallel, 2 * workers):
            return [self.sign(m) for m in messages]
        step = -(-len(messages) // workers)
        slices = [messages[i : i + step] for i in range(0, len(messages), step)]
        return [s for part in _pool().map(self._sign_slice, slices) for s in part]

    def _sign_slice(self, messages: Sequence[bytes]) -> list[str]:
        return [self.sign(m) for m in messages]

    def close(self) -> None:
        """Nothing to release: the signing threads are shared by the process's signers."""

    def verify(self, message: bytes, signature: str) -> bool:
        """Verify a base64 ``r||s`` signature; malformed input is simply not valid."""
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        return len(raw) == 64 and self._key.verify(message, raw)


SCHEMES: dict[str, type[Sm2Signer]] = {"sm2": Sm2Signer}


def make_signer(scheme: str, private_key: str | None, public_key: str) -> Signer:
    """The signer of ``scheme``.

    Raises:
        ValueError: if the scheme is unknown.
    """
    try:
        cls = SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unknown signature scheme {scheme!r}; known: {sorted(SCHEMES)}") from None
    return cls(private_key, public_key)


def signer_from_connection(conn_id: str = SIGNER_CONN_ID) -> Signer:
    """The issuer's signer, configured by an Airflow connection.

    Raises:
        ConnectionNotDefinedError: if the connection is not defined.
        ValueError: if it carries no key.
    """
    conn = require_connection(conn_id, "certificate signing key")
    extra = conn.extra_dejson
    if not conn.password or not extra.get("public_key"):
        raise ValueError(f"connection {conn_id!r} needs the private key as password and extra 'public_key'")
    return make_signer(extra.get("scheme", DEFAULT_SCHEME), conn.password, extra["public_key"])


def generate_sm2_keypair() -> tuple[str, str]:
    """A new SM2 key pair ``(private_hex, public_hex)``, public as ``x||y`` (for the simulator, tests and the demo)."""
    return sm2.generate_keypair()
