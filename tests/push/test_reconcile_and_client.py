"""Reconciliation repairs a platform that lost records; the client paces, honours Retry-After and backs off."""

from __future__ import annotations

import datetime as dt

import psycopg
import requests

from hub.push.cases import derive_cases
from hub.push.gm import digest_lines
from hub.push.provincial_client import ClientSettings, ProvincialClient, TokenBucket
from hub.push.reconcile import reconcile
from simulators.province import shared_rows
from tests.push.helpers import client, outbox_rows, platform_rows, push_until_settled


def _accepted_day(store: str) -> dt.date:
    with psycopg.connect(store) as conn:
        days = conn.execute("SELECT DISTINCT accepted_on FROM hub.push_outbox WHERE status = 'delivered'").fetchall()
    assert len(days) == 1
    return days[0][0]


def test_a_record_lost_by_the_platform_is_found_requeued_and_resent(store, platform) -> None:
    cases = shared_rows.insert_cases(store, 12)
    derive_cases(store)
    push_until_settled(store)
    day = _accepted_day(store)  # not the date at import: a run across midnight in Shanghai would miss it
    assert reconcile(store, client(), day)["cases"] == {"day": day.isoformat(), "matched": True}
    lost = requests.delete(
        platform.url + "/admin/records", params={"kind": "cases", "key": cases[3], "version": 1}, timeout=10
    )
    assert lost.json() == {"deleted": 1}
    result = reconcile(store, client(), day)["cases"]
    assert not result["matched"] and result["platform"]["accepted"] == 11 and result["hub"]["accepted"] == 12
    assert result["requeued"] == 12
    reports = push_until_settled(store)
    assert reports[0].counts["cases"]["duplicate"] == 11 and reports[0].counts["cases"]["accepted"] == 1
    assert reconcile(store, client(), day)["cases"]["matched"]
    held = platform_rows(platform.database_uri)
    assert sorted(held) == sorted(outbox_rows(store, "delivered")) and len(held) == 12
    with psycopg.connect(store) as conn:
        history = conn.execute(
            "SELECT matched, platform_count, hub_count, requeued, hub_digest FROM hub.push_reconciliation "
            "WHERE kind = 'cases' ORDER BY id"
        ).fetchall()
    assert [h[:4] for h in history] == [(True, 12, 12, 0), (False, 11, 12, 12), (True, 12, 12, 0)]
    assert history[0][4] == digest_lines(f"{c}:1" for c in cases)


def test_token_bucket_spaces_requests_to_the_quota() -> None:
    now = [0.0]
    bucket = TokenBucket(20, clock=lambda: now[0])
    waits = []
    for _ in range(5):
        waits.append(bucket.acquire())
        now[0] += waits[-1]
    assert waits[0] == 0 and all(abs(w - 1.05 / 20) < 1e-9 for w in waits[1:])


def test_client_never_exceeds_its_rate_and_honours_retry_after(platform) -> None:
    import json
    import time

    conn = json.loads(platform.env["AIRFLOW_CONN_PROVINCIAL_PLATFORM"])
    slept: list[float] = []
    settings = ClientSettings(platform.url, conn["login"], conn["password"], rate_limit=20, timeout=5)
    c = ProvincialClient(settings, sleep=lambda s: (slept.append(s), time.sleep(s)))
    starts: list[float] = []
    acquire = c.limiter.acquire
    c.limiter.acquire = lambda: (acquire(), starts.append(time.monotonic()))[0]
    for _ in range(45):
        c.reconciliation("cases", "2026-01-01")
    assert len(starts) >= 45
    busiest = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert busiest <= 20  # never more than 20 requests started in any one-second window
    platform.set_faults(throttle_rate=1.0, retry_after=1)
    c2 = ProvincialClient(
        ClientSettings(platform.url, conn["login"], conn["password"], max_attempts=1), sleep=slept.append
    )
    try:
        c2.reconciliation("cases", "2026-01-01")
    except Exception as exc:  # gives up after its throttle budget
        assert "throttles" in str(exc)
    assert slept and all(s == 1.0 for s in slept)
    platform.set_faults(throttle_rate=0.0, error_rate=1.0, quota_rps=0)
    slept.clear()
    c3 = ProvincialClient(
        ClientSettings(platform.url, conn["login"], conn["password"], max_attempts=4, backoff_base=1, backoff_max=3),
        sleep=slept.append,
    )
    try:
        c3.reconciliation("cases", "2026-01-01")
    except Exception as exc:
        assert "4 failures" in str(exc)
    assert len(slept) == 3 and all(0 <= s <= cap for s, cap in zip(slept, (1, 2, 3), strict=True))
