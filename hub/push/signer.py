"""Certificate signatures behind a small interface, so another scheme can be configured.

The issuer's key comes from the Airflow connection ``certificate_signer``: ``password`` is the
private key (hex), extra ``public_key`` the public key (hex, ``x||y``) and extra ``scheme`` the
signature scheme (default ``sm2``: SM2 with SM3 per GB/T 32918, user id ``1234567812345678``,
through OpenSSL 3's libcrypto, see :mod:`hub.push.sm2`). A signature is the base64 of the
64-byte ``r||s``. ``sign_many`` spreads a long list over a process per core, each with its own
libcrypto key: threads would sign without the GIL too, but they need it back after every foreign
call, so while the caller runs Python (building the next chunk of certificates) they would wait
for it in turn.
"""

from __future__ import annotations

import base64
import binascii
import multiprocessing
import os
import weakref
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

from hub.push import sm2

SIGNER_CONN_ID = "certificate_signer"
DEFAULT_SCHEME = "sm2"
_WORKER_KEY: sm2.Sm2Key | None = None  # in a signing process: the key it was started with


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
        """Release what ``sign_many`` started (worker processes)."""
        ...


def _start_worker(private_key: str, public_key: str) -> None:
    global _WORKER_KEY
    _WORKER_KEY = sm2.Sm2Key(private_key, public_key)


def _sign_in_worker(messages: Sequence[bytes]) -> list[str]:
    key = _WORKER_KEY
    if key is None:
        raise sm2.OpenSslError("signing process started without a key")
    return [base64.b64encode(key.sign(m)).decode("ascii") for m in messages]


class Sm2Signer:
    """SM2 signatures (SM3 digest with the default user id), ``r||s`` encoded as 64 bytes then base64."""

    scheme = "sm2"

    min_parallel = 256
    """Fewer messages than this are signed in the calling thread (starting the processes costs more)."""

    def __init__(self, private_key: str | None, public_key: str) -> None:
        """Hold the key in libcrypto.

        Raises:
            ValueError: if a key is malformed or not on the SM2 curve.
        """
        self._key = sm2.Sm2Key(private_key or None, public_key)
        self._private = private_key or None
        self.public_key = public_key
        self._pool: ProcessPoolExecutor | None = None

    def sign(self, message: bytes) -> str:
        """Sign ``message`` (SM3 with the Z value, random k)."""
        return base64.b64encode(self._key.sign(message)).decode("ascii")

    def sign_many(self, messages: Sequence[bytes]) -> list[str]:
        """Sign every message, in slices spread over a process per core (started on first use, then kept)."""
        workers = os.cpu_count() or 1
        if len(messages) < self.min_parallel or workers == 1 or self._private is None:
            return [self.sign(m) for m in messages]
        step = -(-len(messages) // workers)
        slices = [messages[i : i + step] for i in range(0, len(messages), step)]
        return [s for part in self._processes(workers).map(_sign_in_worker, slices) for s in part]

    def _processes(self, workers: int) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the caller may hold threads (Airflow's task runner, the push's senders)
            self._pool = ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self._private, self.public_key),
            )
            weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        return self._pool

    def close(self) -> None:
        """Stop the signing processes, if any were started (they are also stopped with the signer)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

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
    from connectors.connections import ConnectionNotDefinedError, get_connection

    conn = get_connection(conn_id)
    if conn is None:
        raise ConnectionNotDefinedError(
            f"Airflow connection {conn_id!r} (certificate signing key) is not defined "
            f"(set AIRFLOW_CONN_{conn_id.upper()} or a secrets backend)"
        )
    extra = conn.extra_dejson
    if not conn.password or not extra.get("public_key"):
        raise ValueError(f"connection {conn_id!r} needs the private key as password and extra 'public_key'")
    return make_signer(extra.get("scheme", DEFAULT_SCHEME), conn.password, extra["public_key"])


def generate_sm2_keypair() -> tuple[str, str]:
    """A new SM2 key pair ``(private_hex, public_hex)``, public as ``x||y`` (for the simulator, tests and the demo)."""
    return sm2.generate_keypair()
