"""Registered departments and their API keys.

A key is ``shk_<key_id>.<secret>``: ``key_id`` finds the row, and only HMAC-SM3 of the secret
under a per-key random salt is stored, compared in constant time. The 32-byte secret is random,
so a fast keyed hash is enough (no password stretching needed). Rotating issues a new key and
revokes the department's old ones; revoking is immediate.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

import psycopg

from hub.access.audit import AuditEvent, append

PREFIX = "shk_"


class AuthError(Exception):
    """A key that is malformed, unknown, forged or revoked. The message never contains the key."""


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued key; ``token`` is shown once and never stored."""

    key_id: str
    dept_code: str
    token: str


def _digest(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode(), "sm3").digest()


def register(conn: psycopg.Connection, code: str, name: str) -> IssuedKey:
    """Register department ``code`` and issue its first key."""
    with conn.transaction():
        conn.execute("INSERT INTO access.department (code, name) VALUES (%s, %s)", (code, name))
        key = _issue(conn, code)
        append(conn, AuditEvent(code, "department.register", "allowed", detail=f"key {key.key_id} issued"))
    return key


def _issue(conn: psycopg.Connection, code: str) -> IssuedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    conn.execute(
        "INSERT INTO access.api_key (key_id, dept_code, salt, digest) VALUES (%s, %s, %s, %s)",
        (key_id, code, salt, _digest(salt, secret)),
    )
    return IssuedKey(key_id, code, f"{PREFIX}{key_id}.{secret}")


def rotate(conn: psycopg.Connection, code: str) -> IssuedKey:
    """Issue a new key for ``code`` and revoke all its older keys."""
    with conn.transaction():
        if conn.execute("SELECT 1 FROM access.department WHERE code = %s", (code,)).fetchone() is None:
            raise LookupError(f"department {code} is not registered")
        conn.execute(
            "UPDATE access.api_key SET revoked_at = now() WHERE dept_code = %s AND revoked_at IS NULL", (code,)
        )
        key = _issue(conn, code)
        append(conn, AuditEvent(code, "key.rotate", "allowed", detail=f"key {key.key_id} issued, older keys revoked"))
    return key


def revoke(conn: psycopg.Connection, key_id: str) -> None:
    """Revoke one key now."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE access.api_key SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = %s RETURNING dept_code",
            (key_id,),
        ).fetchone()
        if row is None:
            raise LookupError(f"no key {key_id}")
        append(conn, AuditEvent(row[0], "key.revoke", "allowed", detail=f"key {key_id} revoked"))


def authenticate(conn: psycopg.Connection, token: str | None) -> str:
    """Return the department code the key ``token`` belongs to.

    Raises:
        AuthError: missing, malformed, unknown, forged or revoked key (``args[1]`` is the
            department when the key id was known, for the audit).
    """
    if not token:
        raise AuthError("missing API key (header X-API-Key)", None)
    if not token.startswith(PREFIX) or "." not in token:
        raise AuthError("malformed API key", None)
    key_id, _, secret = token[len(PREFIX) :].partition(".")
    row = conn.execute(
        "SELECT dept_code, salt, digest, revoked_at FROM access.api_key WHERE key_id = %s", (key_id,)
    ).fetchone()
    if row is None:
        raise AuthError("unknown API key", None)
    dept, salt, digest, revoked_at = row
    if not hmac.compare_digest(_digest(bytes(salt), secret), bytes(digest)):
        raise AuthError("API key does not verify (forged)", dept)
    if revoked_at is not None:
        raise AuthError("API key was revoked", dept)
    return dept
