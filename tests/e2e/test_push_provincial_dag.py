"""End to end: derive, push and reconcile run as the real DAGs with ``dag.test()`` against the simulator."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg
import pytest

from devkit.dagrun import run_dag_once
from hub.deployment import create_pools
from simulators.province import shared_rows
from tests.push.conftest import platform  # noqa: F401  (the simulated platform fixture)
from tests.push.helpers import outbox_rows, platform_rows

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_derive_push_and_reconcile_dags(airflow_db, store, platform) -> None:  # noqa: F811
    create_pools()
    entities = shared_rows.insert_entities(store, 12)
    shared_rows.insert_cards(store, 8)
    shared_rows.insert_cases(store, 30)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    _, state = run_dag_once("derive_certificates", now)
    assert state == "success"
    platform.set_faults(error_rate=0.2, drop_rate=0.2, seed=3)
    _, state = run_dag_once("push_provincial", now)
    assert state == "success"
    held = platform_rows(platform.database_uri)
    assert len(held) == len(set(held)) == 12 + 8 + 30
    assert set(held) == outbox_rows(store, "delivered")

    with psycopg.connect(store) as conn:  # an entity is revoked: a new licence version reaches the platform
        conn.execute("UPDATE shared.market_entity SET status = 'REVOKED' WHERE uscc = %s", (entities[0],))
    later = now + dt.timedelta(minutes=5)
    assert run_dag_once("derive_certificates", later)[1] == "success"
    assert run_dag_once("push_provincial", later)[1] == "success"
    with psycopg.connect(platform.database_uri) as conn:
        revoked = conn.execute(
            "SELECT version, payload->>'status' FROM accepted WHERE payload->>'holder_id' = %s ORDER BY version",
            (entities[0],),
        ).fetchall()
    assert revoked == [(1, "VALID"), (2, "REVOKED")]

    platform.set_faults(error_rate=0, drop_rate=0)
    tomorrow_0230 = dt.datetime.combine(
        dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1), dt.time(2, 30), tzinfo=SHANGHAI
    )
    assert run_dag_once("reconcile_provincial", tomorrow_0230.astimezone(dt.UTC))[1] == "success"
    with psycopg.connect(store) as conn:
        checks = conn.execute("SELECT kind, matched, hub_count FROM hub.push_reconciliation ORDER BY kind").fetchall()
    assert checks == [("cases", True, 30), ("certificates", True, 21)]
