"""A store holding a few days of everything the console shows, written with SQL and the hub's own
functions, and the console app served by uvicorn on a free 127.0.0.1 port."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
import uvicorn

from hub.access.audit import AuditEvent, append
from hub.api.server import free_port
from hub.store.migrate import migrate
from tests.conftest import fresh_database

# Personal data that sits in the store (a quarantined raw record, a finding's key, a case number):
# no page may show any of it.
PERSON_ID = "640102199001011234"
PERSON_NAME = "张秘密"
CASE_NO = "ZW-SECRET-0001"


@dataclass
class Store:
    """The seeded store and a few of the figures written to it."""

    uri: str
    today: dt.date


def _seed(conn: psycopg.Connection, today: dt.date) -> None:
    now = dt.datetime.now(dt.UTC)
    ledger = (
        "INSERT INTO hub.ledger (batch_id, source, run_id, target_table, status, extracted, inserted, updated, "
        "unchanged, quarantined, started_at, finished_at, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, %s)"
    )
    for back in range(3, 0, -1):
        at = now - dt.timedelta(days=back)
        run = f"manual__{at:%Y%m%dT%H%M}"
        conn.execute(
            ledger,
            (
                f"ga_population:{run}",
                "ga_population",
                run,
                "shared.population",
                "succeeded",
                1200 + back,
                1000,
                100,
                96 + back,
                4,
                at,
                at + dt.timedelta(minutes=2),
                None,
            ),
        )
        conn.execute(
            ledger,
            (
                f"sc_market_entities:{run}",
                "sc_market_entities",
                run,
                "shared.market_entity",
                "succeeded",
                300,
                290,
                5,
                3,
                2,
                at,
                at + dt.timedelta(minutes=1),
                None,
            ),
        )
    conn.execute(
        ledger,
        (
            "zw_cases:manual__gate",
            "zw_cases",
            "manual__gate",
            "shared.service_case",
            "failed",
            500,
            0,
            0,
            0,
            0,
            now - dt.timedelta(hours=5),
            now - dt.timedelta(hours=5),
            "source zw_cases: gate max_quarantine_rate failed: 90 of 500 rows quarantined (18.0%), "
            "limit 5.0%, exceeded by 13.0% points; nothing from this batch was loaded",
        ),
    )
    conn.execute(
        "INSERT INTO hub.freshness_alert (source, kind, detected_at, age_seconds, allowed_seconds, run_id, message) "
        "VALUES ('zw_cases', 'deadline', now() - interval '4 hours', 7200, 3600, 'manual__gate', 'late')"
    )
    for i in range(4):
        conn.execute(
            "INSERT INTO quarantine.record (source, batch_id, target_table, record_ref, rule, field, message, raw) "
            "VALUES ('ga_population', %s, 'shared.population', %s, 'id_number.checksum', 'id_number', "
            "'校验码错误 check character does not match (GB 11643)', %s)",
            (f"ga_population:b{i}", f"r{i}", psycopg.types.json.Jsonb({"SFZH": PERSON_ID, "XM": PERSON_NAME})),
        )
    conn.execute(
        "INSERT INTO quality.finding (source, rule, record_key, message, check_run_id) VALUES "
        "('shared.population', 'population.deceased_insured', %s, '已死亡人员仍在参保 deceased person still insured', "
        "'c1')",
        (PERSON_ID,),
    )
    outbox = (
        "INSERT INTO hub.push_outbox (kind, record_key, version, payload, status, code, accepted_on) "
        "VALUES (%s, %s, 1, '{}', %s, %s, %s)"
    )
    for i in range(7):
        conn.execute(outbox, ("certificates", f"C{i}", "delivered", None, today))
    conn.execute(outbox, ("certificates", "C8", "parked", "BAD_SIGNATURE", None))
    conn.execute(outbox, ("cases", CASE_NO, "pending", None, None))
    conn.execute(
        "INSERT INTO hub.push_attempt (kind, batch_id, records, accepted, duplicate, rejected, outcome, sent_at) "
        "VALUES ('certificates', 'b1', 8, 6, 1, 1, 'answered', now() - interval '1 day')"
    )
    recon = (
        "INSERT INTO hub.push_reconciliation (kind, day, platform_count, platform_digest, hub_count, hub_digest, "
        "matched) VALUES ('certificates', %s, %s, 'x', %s, 'y', %s)"
    )
    conn.execute(recon, (today - dt.timedelta(days=1), 6, 6, True))
    conn.execute(recon, (today, 7, 5, False))
    cols = (
        "stat_date, dept_code, item_code, dept_name, item_name, received, accepted, completed, completed_with_promise, "
        "completed_on_time, overdue_open, overdue_working_days, overdue_max_working_days, completed_online, eval_5, "
        "eval_4, eval_3, eval_2, eval_1, evaluations, bad_reviews, bad_reviews_overdue, source_system, batch_id, "
        "loaded_at, record_hash"
    )
    for back in range(0, 15, 7):
        day = today - dt.timedelta(days=back)
        conn.execute(
            f"INSERT INTO shared.service_efficiency ({cols}) VALUES (%s, 'MZ', 'MZ001', '银川市民政局', '婚姻登记', "
            "40, 40, 40, 40, 38, 2, 3, 2, 30, 10, 6, 2, 1, 1, 20, 2, 1, 'efficiency', 'e1', now(), 'h')",
            (day,),
        )
    conn.execute(
        "INSERT INTO shared.service_bad_review (case_no, dept_code, dept_name, item_code, item_name, satisfaction, "
        "evaluated_on, followup_due, followed_up_on, as_of, followup_overdue, source_system, batch_id, loaded_at, "
        "record_hash) VALUES (%s, 'MZ', '银川市民政局', 'MZ001', '婚姻登记', 1, %s, %s, NULL, %s, true, 'efficiency', "
        "'e1', now(), 'h')",
        (CASE_NO, today - dt.timedelta(days=10), today - dt.timedelta(days=3), today),
    )
    conn.execute(
        "INSERT INTO hub.efficiency_state (as_of, calendar_fingerprint, computed_at, last_run) "
        "VALUES (%s, 'f', now(), '{}')",
        (today,),
    )
    conn.execute(
        "INSERT INTO hub.working_calendar (day, kind, name, origin) VALUES (%s, 'holiday', '元旦', 'operator') "
        "ON CONFLICT (day) DO NOTHING",
        (dt.date(today.year, 1, 1),),
    )
    for code, name in (("GA", "银川市公安局"), ("MZ", "银川市民政局")):
        conn.execute("INSERT INTO access.department (code, name) VALUES (%s, %s)", (code, name))
    app = (
        "INSERT INTO access.application (dept_code, resource, provider, fields, purpose, status, due_on, expires_at) "
        "VALUES ('MZ', 'shared.population', 'GA', %s, '婚姻登记核验', %s, %s, %s)"
    )
    conn.execute(app, (["name", "phone"], "pending", today - dt.timedelta(days=1), None))
    conn.execute(app, (["name"], "approved", today, now + dt.timedelta(days=3)))
    for rows in (10, 15):
        append(conn, AuditEvent("MZ", "query", "allowed", "shared.population", ("name",), rows, "婚姻登记核验"))
    append(conn, AuditEvent("MZ", "query", "refused", "shared.population", ("phone",), 0, "婚姻登记核验", "no grant"))


@pytest.fixture(scope="module")
def store() -> Store:
    """A migrated store with a few days of runs, quarantine, pushes, 效能监管 and reads."""
    uri = fresh_database("console")
    migrate(uri)
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    with psycopg.connect(uri, autocommit=True) as conn:
        _seed(conn, today)
    return Store(uri, today)


@pytest.fixture(scope="module")
def console(store: Store) -> Iterator[str]:
    """The console app on uvicorn in a thread; yields its base URL."""
    from hub.console.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store.uri), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    import time

    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
