"""Shared helpers of the push tests."""

from __future__ import annotations

import psycopg

from hub.push.outbox import push
from hub.push.provincial_client import ProvincialClient, settings_from_connection


def client() -> ProvincialClient:
    return ProvincialClient(settings_from_connection())


def push_until_settled(store: str, rounds: int = 40, batch_size: int = 500) -> list:
    """Run the push like the 5-minute schedule would until nothing is pending."""
    reports = []
    c = client()
    for _ in range(rounds):
        reports.append(push(store, c, batch_size=batch_size))
        if pending(store) == 0:
            break
    c.close()
    return reports


def pending(store: str) -> int:
    with psycopg.connect(store) as conn:
        return conn.execute("SELECT count(*) FROM hub.push_outbox WHERE status = 'pending'").fetchone()[0]


def outbox_rows(store: str, status: str) -> set[str]:
    with psycopg.connect(store) as conn:
        rows = conn.execute("SELECT record_key, version FROM hub.push_outbox WHERE status = %s", (status,))
        return {f"{k}:{v}" for k, v in rows}


def platform_rows(platform_uri: str) -> list[str]:
    with psycopg.connect(platform_uri) as conn:
        return [f"{k}:{v}" for k, v in conn.execute("SELECT key, version FROM accepted")]
