"""Provider officers: the credentials that decide applications, distinct from read keys.

An officer credential is ``sho_<officer_id>.<secret>``; like API keys only HMAC-SM3 of the secret
under a per-credential salt is stored. A department's API key reads; only an officer of the
providing department decides its applications, and never an application of its own department.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

import psycopg

from hub.access.audit import AuditEvent, append

PREFIX = "sho_"


class OfficerAuthError(Exception):
    """A credential that is malformed, unknown, forged or revoked (``args[1]``: its department if known)."""


@dataclass(frozen=True)
class Officer:
    """An authenticated officer."""

    officer_id: str
    dept_code: str


@dataclass(frozen=True)
class IssuedCredential:
    """A freshly issued credential; ``token`` is shown once and never stored."""

    officer_id: str
    dept_code: str
    token: str


def _digest(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode(), "sm3").digest()


def issue(conn: psycopg.Connection, dept: str, name: str) -> IssuedCredential:
    """Issue a credential to officer ``name`` of the registered department ``dept``.

    Raises:
        LookupError: ``dept`` is not registered.
    """
    if not name.strip():
        raise ValueError("name the officer the credential is issued to")
    officer_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM access.department WHERE code = %s", (dept,)).fetchone() is None:
            raise LookupError(f"department {dept} is not registered")
        conn.execute(
            "INSERT INTO access.officer (officer_id, dept_code, name, salt, digest) VALUES (%s, %s, %s, %s, %s)",
            (officer_id, dept, name.strip(), salt, _digest(salt, secret)),
        )
        append(conn, AuditEvent(dept, "officer.issue", "allowed", detail=f"officer {officer_id} credential issued"))
    return IssuedCredential(officer_id, dept, f"{PREFIX}{officer_id}.{secret}")


def revoke(conn: psycopg.Connection, officer_id: str) -> None:
    """Revoke an officer's credential now.

    Raises:
        LookupError: no such officer.
    """
    with conn.transaction():
        row = conn.execute(
            "UPDATE access.officer SET revoked_at = coalesce(revoked_at, now()) WHERE officer_id = %s "
            "RETURNING dept_code",
            (officer_id,),
        ).fetchone()
        if row is None:
            raise LookupError(f"no officer {officer_id}")
        append(conn, AuditEvent(row[0], "officer.revoke", "allowed", detail=f"officer {officer_id} revoked"))


def authenticate(conn: psycopg.Connection, token: str) -> Officer:
    """The officer whose credential ``token`` is.

    Raises:
        OfficerAuthError: malformed, unknown, forged or revoked credential.
    """
    if not token.startswith(PREFIX) or "." not in token:
        raise OfficerAuthError("malformed officer credential", None)
    officer_id, _, secret = token[len(PREFIX) :].partition(".")
    row = conn.execute(
        "SELECT dept_code, salt, digest, revoked_at FROM access.officer WHERE officer_id = %s", (officer_id,)
    ).fetchone()
    if row is None:
        raise OfficerAuthError("unknown officer credential", None)
    dept, salt, digest, revoked_at = row
    if not hmac.compare_digest(_digest(bytes(salt), secret), bytes(digest)):
        raise OfficerAuthError("officer credential does not verify (forged)", dept)
    if revoked_at is not None:
        raise OfficerAuthError("officer credential was revoked", dept)
    return Officer(officer_id, dept)
