"""``run_ingest`` of the 人社 source against its simulator process: crash safety and resuming."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from hub import faults, registry
from hub.pipeline import run_ingest
from hub.store import ledger
from tests.simulators.rs_server import RsServer, rs_server

__all__ = ["rs_server"]
SPEC = registry.get("rs_social_insurance")
TODAY = dt.date(2026, 11, 23)


def _keys(store: str) -> list[tuple[str, str]]:
    with psycopg.connect(store) as conn:
        return conn.execute("SELECT person_no, insurance_type FROM shared.social_insurance").fetchall()


@pytest.mark.parametrize("failpoint", ["load.after_staging", "load.before_commit"])
def test_a_crash_loads_nothing_and_the_next_run_resumes_from_the_committed_cursor(
    store: str, rs_server: RsServer, monkeypatch: pytest.MonkeyPatch, failpoint: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RS_SOCIAL_INSURANCE", rs_server.connection(page_size=150, batch_rows=300))
    first = run_ingest(SPEC, "run-1", store=store, today=TODAY)
    assert first.balanced and first.extracted == len(rs_server.rows())
    change = rs_server.day(1)
    monkeypatch.setenv("HUB_FAILPOINTS", failpoint)
    with pytest.raises(faults.InjectedFault):
        run_ingest(SPEC, "run-2", store=store, today=TODAY)
    crashed = ledger.get(store, f"{SPEC.name}:run-2")
    assert crashed is not None and crashed.status == "failed"
    assert len(_keys(store)) == first.inserted  # nothing of the crashed run is in the store
    monkeypatch.delenv("HUB_FAILPOINTS")
    served = rs_server.counters()["rows_served"]
    retry = run_ingest(SPEC, "run-2", store=store, today=TODAY)
    assert retry.balanced and retry.extracted == change["total"]
    assert rs_server.counters()["rows_served"] - served < 150 + change["total"]  # read on from the cursor
    keys = _keys(store)
    assert len(keys) == len(set(keys)) == first.inserted + change["enrolments"]
