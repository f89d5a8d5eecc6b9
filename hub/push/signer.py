"""Certificate signatures behind a small interface, so another scheme can be configured.

The issuer's key comes from the Airflow connection ``certificate_signer``: ``password`` is the
private key (hex), extra ``public_key`` the public key (hex, ``x||y``) and extra ``scheme`` the
signature scheme (default ``sm2``, SM2 with SM3 per GB/T 32918 via ``gmssl``). SM2 in pure
Python is slow (milliseconds), so the hub signs once per certificate version, never per row of
another loop.
"""

from __future__ import annotations

import base64
import secrets
from typing import Protocol

SIGNER_CONN_ID = "certificate_signer"
DEFAULT_SCHEME = "sm2"


class Signer(Protocol):
    """Signs the canonical JSON of a certificate."""

    scheme: str

    def sign(self, message: bytes) -> str:
        """Return the base64 signature of ``message``."""
        ...

    def verify(self, message: bytes, signature: str) -> bool:
        """Whether ``signature`` (base64) is a valid signature of ``message``."""
        ...


class Sm2Signer:
    """SM2 signatures (SM3 digest with the default user id), r||s encoded as 64 bytes."""

    scheme = "sm2"

    def __init__(self, private_key: str | None, public_key: str) -> None:
        from gmssl import sm2

        self._sm2 = sm2.CryptSM2(private_key=private_key or "", public_key=public_key, mode=1)
        # gmssl lstrip("04")s a key starting with 04, eating x's first digits too (1 key pair in 256 never
        # verified): take x||y as given, without the uncompressed-point prefix 04 if present
        self._sm2.public_key = public_key[2:] if len(public_key) == 130 else public_key
        self.public_key = public_key

    def sign(self, message: bytes) -> str:
        """Sign ``message`` (SM3 with the Z value, random k)."""
        from gmssl import func

        k = func.random_hex(self._sm2.para_len)
        return base64.b64encode(bytes.fromhex(self._sm2.sign_with_sm3(message, k))).decode("ascii")

    def verify(self, message: bytes, signature: str) -> bool:
        """Verify a base64 ``r||s`` signature; malformed input is simply not valid."""
        try:
            raw = base64.b64decode(signature, validate=True)
        except ValueError:
            return False
        if len(raw) != 64:
            return False
        try:
            return bool(self._sm2.verify_with_sm3(raw.hex(), message))
        except (ValueError, TypeError, ZeroDivisionError):
            return False


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
    """A new SM2 key pair ``(private_hex, public_hex)`` (for the simulator, tests and the demo)."""
    from gmssl import sm2

    curve = sm2.default_ecc_table
    while True:
        d = secrets.randbelow(int(curve["n"], 16) - 1)
        if d > 0:
            break
    private = f"{d:064x}"
    public = sm2.CryptSM2(private_key=private, public_key="", mode=1)._kg(d, curve["g"])
    return private, public
