"""A loaded store shared by the access tests: 公安 population ingested for real, a few market entities,
the provider departments registered, and the API served by uvicorn on a free 127.0.0.1 port."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import psycopg
import pytest
from stdnum.cn import uscc as stdnum_uscc

from hub import registry
from hub.access import consumers
from hub.pipeline import run_ingest
from hub.store.migrate import migrate
from simulators.ga import population
from tests.conftest import connection_env, fresh_database

TODAY = dt.date(2026, 11, 23)
SPEC = registry.get("ga_population")


def valid_uscc(body17: str) -> str:
    """A USCC with its check character (stdnum as the oracle)."""
    return body17 + stdnum_uscc.calc_check_digit(body17)


ACTIVE_USCC = valid_uscc("91640100MA7612345")
REVOKED_USCC = valid_uscc("91640100MA7654321")
AUTHORITY = valid_uscc("11640100MB1234567")


@dataclass
class Hub:
    """The loaded store, the simulator behind it and the providers' keys."""

    uri: str
    source_uri: str
    keys: dict[str, str]

    def connect(self) -> psycopg.Connection:
        """An autocommit connection to the store."""
        return psycopg.connect(self.uri, autocommit=True)

    def new_department(self, prefix: str = "D") -> tuple[str, str]:
        """Register a fresh consumer department; returns (code, API key)."""
        code = (prefix + uuid.uuid4().hex[:8]).upper()
        with self.connect() as conn:
            key = consumers.register(conn, code, f"测试部门 {code}")
        return code, key.token

    def new_officer(self, dept: str) -> str:
        """Issue an officer credential of ``dept`` (a provider); returns the token."""
        from hub.access import officers

        with self.connect() as conn:
            return officers.issue(conn, dept, f"{dept} 审批科").token

    def new_case(self, applicant_id: str) -> str:
        """A service case (申办) whose applicant is ``applicant_id``; returns its case number."""
        case_no = "ZW" + uuid.uuid4().hex[:12].upper()
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO shared.service_case (case_no, version, item_code, item_name, applicant_type, "
                "applicant_name, applicant_id, dept_code, dept_name, channel, status, submitted_at, last_step_no, "
                "source_updated_at, source_system, batch_id, loaded_at, record_hash) VALUES (%s, 1, '640100-MZ-01', "
                "'最低生活保障审核', 'PERSON', '测试', %s, 'MZ', '银川市民政局', 'WINDOW', 'SUBMITTED', now(), 1, "
                "now(), 'test', 'test:1', now(), 'h')",
                (case_no, applicant_id),
            )
        return case_no


@pytest.fixture(scope="module")
def hub_store() -> Iterator[Hub]:
    """Migrated store with a real ingest of 2,000 generated persons and two market entities."""
    with pytest.MonkeyPatch.context() as mp:
        uri = fresh_database("access")
        migrate(uri)
        source = fresh_database("sim_ga")
        population.create(source, 2000, seed=11)
        mp.setenv("AIRFLOW_CONN_GA_POPULATION", connection_env(source))
        mp.setenv("AIRFLOW_CONN_HUB_STORE", connection_env(uri))
        run_ingest(SPEC, "run-1", store=uri, today=TODAY)
        with psycopg.connect(uri, autocommit=True) as conn:
            for code, status in ((ACTIVE_USCC, "ACTIVE"), (REVOKED_USCC, "REVOKED")):
                conn.execute(
                    "INSERT INTO shared.market_entity (uscc, name, entity_type, legal_rep, legal_rep_id, "
                    "established_on, approved_on, authority_name, authority_code, status, address, region_code, "
                    "source_updated_at, source_system, batch_id, loaded_at, record_hash) "
                    "VALUES (%s, '银川测试商贸有限公司', "
                    "'1100', '王五', '640104199001011234', '2020-01-01', '2020-01-01', '银川市市场监督管理局', %s, %s, "
                    "'宁夏回族自治区银川市兴庆区解放西街1号', '640104', now(), 'test', 'test:1', now(), 'h')",
                    (code, AUTHORITY, status),
                )
            keys = {}
            for code, name in (("GA", "银川市公安局"), ("SC", "银川市市场监督管理局"), ("RS", "银川市人社局")):
                keys[code] = consumers.register(conn, code, name).token
        yield Hub(uri, source, keys)


@pytest.fixture(scope="module")
def api(hub_store: Hub) -> Iterator[str]:
    """The real API served by uvicorn in a thread; yields its base URL."""
    from hub.api.server import start_in_thread
    from hub.store.roles import local_api_uri

    server = start_in_thread(local_api_uri(hub_store.uri))  # as the least-privilege API role
    try:
        yield server.url
    finally:
        server.stop()


def client(url: str, key: str | None, purpose: str | None = "办理测试业务") -> httpx.Client:
    """An HTTP client carrying a department's key and purpose."""
    headers = {}
    if key is not None:
        headers["X-API-Key"] = key
    if purpose is not None:
        headers["X-Purpose"] = quote(purpose)
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def officer_client(url: str, token: str) -> httpx.Client:
    """An HTTP client carrying a provider officer's credential (and no API key)."""
    return httpx.Client(base_url=url, headers={"X-Officer-Key": token}, timeout=30)


def audit_rows(hub: Hub, dept: str | None, since_seq: int = 0) -> list[tuple]:
    """(action, outcome, resource, fields, row_count, purpose, detail) of audit entries after ``since_seq``."""
    with hub.connect() as conn:
        return conn.execute(
            "SELECT action, outcome, resource, fields, row_count, purpose, detail FROM access.audit "
            "WHERE dept_code IS NOT DISTINCT FROM %s AND seq > %s AND action <> 'department.register' ORDER BY seq",
            (dept, since_seq),
        ).fetchall()


def last_seq(hub: Hub) -> int:
    """The audit log's current last sequence number."""
    with hub.connect() as conn:
        return conn.execute("SELECT coalesce(max(seq), 0) FROM access.audit").fetchone()[0]
