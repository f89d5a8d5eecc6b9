"""The platform deduplicates on the batch id, and a resend reaches it under the batch's original id."""

from __future__ import annotations

import psycopg
import pytest

from hub.faults import InjectedFault
from hub.push.cases import derive_cases
from hub.push.outbox import push
from hub.push.provincial_client import BatchRefusedError
from simulators.province import shared_rows
from tests.push.helpers import client, platform_rows


def _batch_ids(store: str) -> set[str]:
    with psycopg.connect(store) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT batch_id FROM hub.push_outbox WHERE kind = 'cases'")}


def test_a_lost_reply_is_resent_under_the_original_batch_id(store, platform) -> None:
    shared_rows.insert_cases(store, 30)
    derive_cases(store)
    platform.set_faults(drop_next=1)
    report = push(store, client())
    assert report.counts["cases"]["duplicate"] == 30  # stored by the first send, confirmed by the resend
    (batch_id,) = _batch_ids(store)
    assert platform.batches() == [{"batch_id": batch_id, "kind": "cases", "records": 30, "received": 2}]


def test_a_crash_after_sending_resends_under_the_original_batch_id(store, platform, monkeypatch) -> None:
    shared_rows.insert_cases(store, 12)
    derive_cases(store)
    monkeypatch.setenv("HUB_FAILPOINTS", "push.after_send")
    with pytest.raises(InjectedFault):
        push(store, client())
    (batch_id,) = _batch_ids(store)
    assert platform.batches() == [{"batch_id": batch_id, "kind": "cases", "records": 12, "received": 1}]
    monkeypatch.delenv("HUB_FAILPOINTS")
    assert push(store, client()).counts["cases"]["duplicate"] == 12
    assert platform.batches() == [{"batch_id": batch_id, "kind": "cases", "records": 12, "received": 2}]


def _payloads(store: str) -> list[dict]:
    with psycopg.connect(store) as conn:
        return [r[0] for r in conn.execute("SELECT payload FROM hub.push_outbox WHERE kind = 'cases' ORDER BY id")]


def test_the_platform_answers_a_known_batch_id_from_its_first_answer(store, platform) -> None:
    shared_rows.insert_cases(store, 3)
    derive_cases(store)
    good = _payloads(store)
    bad = good[0] | {"case_no": "SQ-BAD-1", "applicant_id": "640104199001011230"}  # wrong check character
    c = client()
    first = c.send_batch("cases", "b-1", [*good[:2], bad])
    assert [(r["status"], r["code"]) for r in first] == [("ACCEPTED", None)] * 2 + [("REJECTED", "BAD_CHECKSUM")]
    again = c.send_batch("cases", "b-1", [*good[:2], bad])
    assert [(r["status"], r["code"]) for r in again] == [("DUPLICATE", None)] * 2 + [("REJECTED", "BAD_CHECKSUM")]
    with pytest.raises(BatchRefusedError) as reused:  # the same id for other records: not the same batch
        c.send_batch("cases", "b-1", good[1:])
    assert reused.value.code == "BAD_BATCH" and "b-1" in reused.value.message
    # a new batch id with a stored record: DUPLICATE by key, version and content, as the spec says
    assert [r["status"] for r in c.send_batch("cases", "b-2", good[1:])] == ["DUPLICATE", "ACCEPTED"]
    assert platform.batches() == [
        {"batch_id": "b-1", "kind": "cases", "records": 3, "received": 2},
        {"batch_id": "b-2", "kind": "cases", "records": 2, "received": 1},
    ]
    assert sorted(platform_rows(platform.database_uri)) == sorted(f"{p['case_no']}:1" for p in good)
