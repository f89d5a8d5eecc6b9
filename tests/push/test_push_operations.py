"""Operating the push: concurrent runs, a wrong secret, fixing a rejection and retrying."""

from __future__ import annotations

import itertools
import json
import threading
import time

import psycopg
import pytest

from hub.cli import main as hub_main
from hub.push.cases import derive_cases
from hub.push.certificates import derive_certificates
from hub.push.outbox import push
from hub.push.provincial_client import AuthFailedError, ClientSettings, ProvincialClient, settings_from_connection
from hub.push.signer import Sm2Signer, generate_sm2_keypair
from simulators.province import shared_rows
from tests.push.helpers import client, outbox_rows, pending, platform_rows


def test_two_concurrent_runs_never_send_the_same_row(store, platform) -> None:
    shared_rows.insert_cases(store, 400)
    derive_cases(store)
    platform.set_faults(slow_rate=0.5, slow_seconds=0.3, quota_rps=0)
    reports, errors = [], []

    def run() -> None:
        try:
            reports.append(push(store, client(), batch_size=20))
        except Exception as exc:  # pragma: no cover - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    threads[0].start()
    # the second run starts once the first has formed batches: it finds them open and sends
    # those the first has not taken yet (each batch is held by a lock while it is sent)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and pending_batches(store) == 0:
        time.sleep(0.01)
    threads[1].start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r.counts["cases"]["batches"] > 0 for r in reports)  # both runs did work
    assert sum(r.counts["cases"]["sent"] for r in reports) == 400  # and no row went twice
    assert sum(r.counts["cases"]["duplicate"] for r in reports) == 0
    assert len(platform_rows(platform.database_uri)) == 400 and pending(store) == 0


def pending_batches(store: str) -> int:
    with psycopg.connect(store) as conn:
        return conn.execute(
            "SELECT count(DISTINCT batch_id) FROM hub.push_outbox WHERE status = 'pending' AND batch_id IS NOT NULL"
        ).fetchone()[0]


def test_a_wrong_secret_stops_the_push_and_changes_nothing(store, platform) -> None:
    shared_rows.insert_cases(store, 5)
    derive_cases(store)
    conn = json.loads(platform.env["AIRFLOW_CONN_PROVINCIAL_PLATFORM"])
    wrong = ProvincialClient(ClientSettings(platform.url, conn["login"], "not-the-secret"))
    with pytest.raises(AuthFailedError, match="not retrying"):
        push(store, wrong)
    assert wrong.stats["requests"] == 1  # no retry on 401
    assert pending(store) == 5 and platform_rows(platform.database_uri) == []


def test_a_bad_signature_is_parked_then_fixed_with_retry_resign(store, platform) -> None:
    shared_rows.insert_entities(store, 3)
    derive_certificates(store, Sm2Signer(*generate_sm2_keypair()), "wrong-key")  # not the issuer's key
    push(store, client())
    parked = outbox_rows(store, "parked")
    assert len(parked) == 3
    with psycopg.connect(store) as conn:
        assert {r[0] for r in conn.execute("SELECT code FROM hub.push_outbox")} == {"BAD_SIGNATURE"}
    assert hub_main(["push", "retry", "--code", "BAD_SIGNATURE", "--resign"]) == 0  # key fixed: sign again
    push(store, client())
    assert outbox_rows(store, "delivered") == parked and outbox_rows(store, "parked") == set()
    with psycopg.connect(store) as conn:
        sigs = conn.execute(
            "SELECT count(*) FROM shared.e_certificate c JOIN hub.push_outbox o ON o.record_key = c.certificate_id "
            "WHERE c.signature = o.payload->>'signature'"
        ).fetchone()[0]
    assert sigs == 3


class _RecordingClient(ProvincialClient):
    """The real client, noting when each batch was in flight (the first batches answer slowly)."""

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__(settings)
        self.sent: list[tuple[float, float, int, set[str]]] = []  # start, end, version, case numbers

    def send_encoded(self, kind: str, batch_id: str, encoded: list[str]) -> list[dict]:
        start = time.monotonic()
        if len(self.sent) < 2:
            time.sleep(0.3)
        results = super().send_encoded(kind, batch_id, encoded)
        records = [json.loads(r) for r in encoded]
        versions = {r["version"] for r in records}
        assert len(versions) == 1
        self.sent.append((start, time.monotonic(), versions.pop(), {r["case_no"] for r in records}))
        return results


def test_concurrent_batches_keep_each_keys_versions_in_order(store, platform) -> None:
    for version in (1, 2, 3):
        shared_rows.insert_cases(store, 40, version=version)
        derive_cases(store)
    platform.set_faults(quota_rps=0)
    recording = _RecordingClient(settings_from_connection())
    report = push(store, recording, kinds=("cases",), batch_size=20, concurrency=4)
    recording.close()
    assert report.counts["cases"]["accepted"] == 120 and not report.unresolved
    assert outbox_rows(store, "parked") == set()  # no version overtook an earlier one (STALE_VERSION)
    sent = sorted(recording.sent)
    assert any(b[0] < a[1] for a, b in itertools.pairwise(sent))  # unrelated batches went out together
    for _start_a, end_a, version_a, keys_a in sent:
        for start_b, _, version_b, keys_b in sent:
            if version_a < version_b and keys_a & keys_b:
                assert end_a <= start_b  # a key's later version left only after its earlier one was answered
