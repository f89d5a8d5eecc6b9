"""Exactly-once delivery: every fault at once, a crash between sending and committing, parked rejections."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg
import pytest

from hub.cli import main as hub_main
from hub.faults import InjectedFault
from hub.push.cases import derive_cases
from hub.push.certificates import derive_certificates
from hub.push.outbox import push
from hub.push.reconcile import reconcile
from hub.push.signer import signer_from_connection
from simulators.province import shared_rows
from tests.push.helpers import client, outbox_rows, pending, platform_rows, push_until_settled

TODAY = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _revoke(store: str, usccs: list[str]) -> None:
    with psycopg.connect(store) as conn:
        conn.execute("UPDATE shared.market_entity SET status = 'REVOKED' WHERE uscc = ANY(%s)", (usccs,))


def _derive(store: str, run: str) -> None:
    derive_certificates(store, signer_from_connection(), run)
    derive_cases(store)


def test_every_version_reaches_the_platform_once_with_every_fault_on(store, platform) -> None:
    entities = shared_rows.insert_entities(store, 40)
    shared_rows.insert_cards(store, 30)
    cases = shared_rows.insert_cases(store, 200, version=1)
    bad_ids = [f"SQBAD{i:04d}" for i in range(5)]
    shared_rows.upsert_cases(store, [shared_rows.case_row(c, 1, "640104199001011230") for c in bad_ids])
    _derive(store, "r1")
    platform.set_faults(
        throttle_rate=0.1,
        retry_after=1,
        error_rate=0.15,
        maintenance_period=8.0,
        maintenance_window=1.0,
        slow_rate=0.15,
        slow_seconds=2.5,
        drop_rate=0.15,
        seed=7,
    )
    push_until_settled(store, batch_size=25)
    # a day later at the source: versions 2 and 3 of the cases, 10 entities revoked
    shared_rows.insert_cases(store, 200, version=2)
    _derive(store, "r2")
    shared_rows.insert_cases(store, 200, version=3)
    _revoke(store, entities[:10])
    _derive(store, "r3")
    push_until_settled(store, batch_size=25)

    stats = platform.stats()
    for fault in ("429", "503", "drop", "slow"):
        assert stats.get(fault, 0) > 0, f"fault {fault} never fired: {stats}"
    assert stats.get("500", 0) + stats.get("502", 0) > 0
    assert pending(store) == 0
    held = platform_rows(platform.database_uri)
    assert len(held) == len(set(held))  # each key:version once
    delivered = outbox_rows(store, "delivered")
    assert set(held) == delivered  # none missing, nothing extra
    assert len(delivered) == 40 + 10 + 30 + 200 * 3
    assert outbox_rows(store, "parked") == {f"{c}:1" for c in bad_ids}
    with psycopg.connect(store) as conn:
        codes = conn.execute("SELECT DISTINCT code FROM hub.push_outbox WHERE status = 'parked'").fetchall()
        revoked = conn.execute(
            "SELECT count(*) FROM shared.e_certificate WHERE status = 'REVOKED' AND version = 2"
        ).fetchone()[0]
    assert codes == [("BAD_CHECKSUM",)] and revoked == 10
    assert all(c in {k.split(":")[0] for k in held} for c in cases)
    platform.set_faults(throttle_rate=0, error_rate=0, maintenance_period=0, slow_rate=0, drop_rate=0)
    result = reconcile(store, client(), TODAY)
    assert result["certificates"]["matched"] and result["cases"]["matched"], result


def test_crash_between_sending_and_committing_resends_as_duplicate(store, platform, monkeypatch) -> None:
    shared_rows.insert_cases(store, 30)
    shared_rows.insert_entities(store, 5)
    _derive(store, "r1")
    monkeypatch.setenv("HUB_FAILPOINTS", "push.after_send")
    with pytest.raises(InjectedFault):
        push(store, client(), kinds=("cases",))
    assert len(platform_rows(platform.database_uri)) == 30  # the platform stored the batch
    with psycopg.connect(store) as conn:
        state = conn.execute(
            "SELECT status, count(DISTINCT batch_id), count(*) FROM hub.push_outbox WHERE kind = 'cases' GROUP BY 1"
        ).fetchall()
    assert state == [("pending", 1, 30)]  # nothing recorded, the batch id kept
    monkeypatch.delenv("HUB_FAILPOINTS")
    report = push(store, client())
    assert report.counts["cases"]["duplicate"] == 30 and report.counts["cases"]["accepted"] == 0
    assert report.counts["certificates"]["accepted"] == 5
    assert pending(store) == 0
    held = platform_rows(platform.database_uri)
    assert len(held) == len(set(held)) == 35
    assert outbox_rows(store, "delivered") == set(held)


def test_rejected_records_stay_parked_until_hub_push_retry(store, platform, capsys) -> None:
    shared_rows.upsert_cases(store, [shared_rows.case_row("SQ-ILLEGAL", 4, "64010419900101123X")])
    derive_cases(store)
    push_until_settled(store)
    # the source goes backwards: version 5 says PROCESSING after COMPLETED
    shared_rows.upsert_cases(store, [shared_rows.case_row("SQ-ILLEGAL", 5, "64010419900101123X", "PROCESSING")])
    derive_cases(store)
    push_until_settled(store)
    with psycopg.connect(store) as conn:
        row = conn.execute(
            "SELECT status, result, code, message FROM hub.push_outbox WHERE record_key = 'SQ-ILLEGAL' AND version = 5"
        ).fetchone()
    assert row[:3] == ("parked", "REJECTED", "ILLEGAL_TRANSITION") and "COMPLETED" in row[3]
    push_until_settled(store)  # a later run does not resend it
    assert outbox_rows(store, "parked") == {"SQ-ILLEGAL:5"}
    assert hub_main(["push", "retry", "--kind", "cases", "--code", "ILLEGAL_TRANSITION"]) == 0
    assert "re-queued 1" in capsys.readouterr().out
    assert pending(store) == 1
    push_until_settled(store)
    assert outbox_rows(store, "parked") == {"SQ-ILLEGAL:5"}  # the platform still refuses it: parked again
