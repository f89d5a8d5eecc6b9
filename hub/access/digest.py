"""Keyed digests of looked-up values for the audit: who was looked up, without storing who.

The audit records ``hmac-sm3:<hex>`` of a filter's values or of a prefill subject's identity
number, under ``HUB_AUDIT_DIGEST_KEY`` (64 hex characters) or the password of the Airflow
connection ``hub_audit_digest`` (``AIRFLOW_CONN_HUB_AUDIT_DIGEST``), never the database. An investigator holding the
key can compute the digest of a suspected value and find the reads of it; someone reading the
store cannot reverse it, even for identity numbers, whose space is small.
"""

from __future__ import annotations

import hmac
import json
import os
import threading

from connectors.connections import get_connection
from hub.access.keyconfig import hex_key
from hub.settings import AUDIT_DIGEST_CONN_ID

ENV = "HUB_AUDIT_DIGEST_KEY"
CONN_ID = AUDIT_DIGEST_CONN_ID
_lock = threading.Lock()
_key: bytes | None = None


def load_key() -> None:
    """Read and check the key once (idempotent, thread-safe); called when the API starts.

    Raises:
        KeyConfigError: the key is set but is not 64 hex characters.
    """
    global _key
    if _key is None:
        with _lock:
            if _key is None:
                if not os.environ.get(ENV):
                    from_conn = _from_connection()
                    if from_conn:
                        os.environ[ENV] = from_conn
                _key = hex_key(ENV, 32, purpose="audit digests of looked-up values")


def _from_connection() -> str | None:
    if f"AIRFLOW_CONN_{CONN_ID.upper()}" not in os.environ:  # importing Airflow costs seconds at each start
        return None

    conn = get_connection(CONN_ID)
    return conn.password if conn is not None and conn.password else None


def reset() -> None:
    """Forget the loaded key (tests that change the environment)."""
    global _key
    with _lock:
        _key = None


def keyed(value: object) -> str:
    """``hmac-sm3:<hex>`` of ``value``'s canonical JSON (strings stripped and upper-cased)."""
    load_key()
    assert _key is not None
    body = json.dumps(_canonical(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
    return "hmac-sm3:" + hmac.new(_key, body.encode(), "sm3").hexdigest()


def _canonical(value: object) -> object:
    if isinstance(value, str):
        return value.strip().upper()
    if isinstance(value, list):
        return sorted({json.dumps(_canonical(v), ensure_ascii=False, default=str) for v in value})
    return value
