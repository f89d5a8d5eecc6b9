"""A record is booked on the day the platform counts it: a lost reply across midnight heals at the next 对账.

The platform files a record on its own clock; the simulator's ``clock_offset_seconds`` moves that
clock past midnight (Asia/Shanghai) for one batch, so the test need not wait for midnight, and
``drop_next`` loses the reply after the batch was stored.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg

from hub.push.cases import derive_cases
from hub.push.gm import digest_lines
from hub.push.outbox import push
from hub.push.reconcile import OpenGroup, find_day_members, reconcile
from simulators.province import shared_rows
from tests.push.helpers import client, outbox_rows, platform_rows

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _seconds_past_next_midnight(seconds: float) -> float:
    """The clock offset that puts the platform ``seconds`` after the next midnight in Shanghai."""
    now = dt.datetime.now(SHANGHAI)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    return (midnight - now).total_seconds() + seconds


def _bookings(store: str, keys: list[str]) -> set[tuple]:
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT status, result, accepted_on, accepted_days FROM hub.push_outbox WHERE record_key = ANY(%s)",
            (keys,),
        ).fetchall()
    return {(*r[:3], None if r[3] is None else tuple(r[3])) for r in rows}


def test_a_batch_stored_after_midnight_whose_reply_was_lost_is_booked_on_the_platforms_day(store, platform) -> None:
    before = shared_rows.insert_cases(store, 10, seed=3)
    derive_cases(store)
    assert push(store, client()).counts["cases"]["accepted"] == 10
    with psycopg.connect(store) as conn:  # the hub's day, not the date at import (a run may cross midnight)
        day = conn.execute("SELECT DISTINCT accepted_on FROM hub.push_outbox").fetchone()[0]
    after = shared_rows.insert_cases(store, 6, seed=4)
    derive_cases(store)
    # formed before midnight (the hub's clock), stored by the platform after it, and the reply lost
    platform.set_faults(clock_offset_seconds=_seconds_past_next_midnight(30), drop_next=1)
    report = push(store, client())
    platform.set_faults(clock_offset_seconds=0)
    assert report.counts["cases"]["duplicate"] == 6 and platform.stats()["drop"] == 1
    next_day = day + dt.timedelta(days=1)
    with psycopg.connect(platform.database_uri) as conn:
        filed = dict(conn.execute("SELECT accepted_on, count(*) FROM accepted GROUP BY 1").fetchall())
    assert filed == {day: 10, next_day: 6}
    open_days = (day - dt.timedelta(days=1), day, next_day)
    assert _bookings(store, after) == {("delivered", "DUPLICATE", day, open_days)}  # a guess, still open

    first = reconcile(store, client(), day)["cases"]
    assert first == {"day": day.isoformat(), "matched": True, "rebooked": 6}  # no re-queue needed
    assert _bookings(store, before) == {("delivered", "ACCEPTED", day, None)}
    assert _bookings(store, after) == {("delivered", "DUPLICATE", next_day, (day - dt.timedelta(days=1), next_day))}
    second = reconcile(store, client(), next_day)["cases"]
    assert second == {"day": next_day.isoformat(), "matched": True}
    assert _bookings(store, after) == {("delivered", "DUPLICATE", next_day, None)}  # settled for good
    assert reconcile(store, client(), day)["cases"]["matched"]  # and the first day stays right
    with psycopg.connect(store) as conn:
        history = conn.execute(
            "SELECT day, matched, requeued, rebooked FROM hub.push_reconciliation WHERE kind = 'cases' ORDER BY id"
        ).fetchall()
        alerts = conn.execute("SELECT count(*) FROM hub.reconciliation_alert").fetchone()[0]
    assert history == [(day, True, 0, 6), (next_day, True, 0, 0), (day, True, 0, 0)] and alerts == 0
    assert sorted(platform_rows(platform.database_uri)) == sorted(outbox_rows(store, "delivered"))


def test_a_request_answered_after_midnight_leaves_both_days_open_until_the_reconciliation(store, platform) -> None:
    """An ACCEPTED answer to a request sent before midnight (the hub's clock) may be filed on either day."""
    keys = shared_rows.insert_cases(store, 4, seed=5)
    derive_cases(store)
    push(store, client())
    with psycopg.connect(store) as conn:  # as if the request had left the day before the answer came
        day = conn.execute("SELECT DISTINCT accepted_on FROM hub.push_outbox").fetchone()[0]
        conn.execute(
            "UPDATE hub.push_outbox SET accepted_on = %s, accepted_days = %s, accepted_group = batch_id",
            (day - dt.timedelta(days=1), [day - dt.timedelta(days=1), day]),
        )
    result = reconcile(store, client(), day - dt.timedelta(days=1))["cases"]
    assert result == {"day": (day - dt.timedelta(days=1)).isoformat(), "matched": True, "rebooked": 4}
    assert _bookings(store, keys) == {("delivered", "ACCEPTED", day, None)}
    assert reconcile(store, client(), day)["cases"] == {"day": day.isoformat(), "matched": True}


def test_the_search_finds_the_groups_of_a_day_by_digest() -> None:
    day = dt.date(2026, 11, 2)
    other = [day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)]
    groups = [
        OpenGroup("b1", [1, 2], ["A:1", "B:1"], day, other),
        OpenGroup("b2", [3, 4], ["C:1", "D:1"], day, other),
        OpenGroup("b3", [5, 6], ["E:1", "F:1"], day - dt.timedelta(days=1), other),
    ]
    certain = ["Z:1"]
    # the platform has b2 and b3 on the day (the same count as the booked b1 + b2: only the digest tells)
    digest = digest_lines(["Z:1", "C:1", "D:1", "E:1", "F:1"])
    found = find_day_members(certain, groups, day, 5, digest)
    assert found is not None and sorted(g.group for g in found) == ["b2", "b3"]
    assert find_day_members(certain, groups, day, 3, digest_lines(["Z:1", "A:1", "B:1"]))[0].group == "b1"
    assert find_day_members(certain, groups, day, 1, digest_lines(["Z:1"])) == []
    assert find_day_members(certain, groups, day, 5, digest_lines(["Z:1", "C:1", "D:1", "E:1", "X:1"])) is None
    assert find_day_members(certain, groups, day, 0, digest_lines([])) is None  # fewer than the certain ones
    assert find_day_members(certain, groups, day, 5, digest, limit=1) is None  # gives up past its budget
