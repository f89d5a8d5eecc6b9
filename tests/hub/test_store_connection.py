"""The one store-connection helper: options it documents, and the session name it gives."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from psycopg import pq
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from connectors import connections
from hub.api.pool import Pool
from hub.store import connection
from tests.conftest import fresh_database


@pytest.fixture(scope="module")
def database() -> str:
    return fresh_database("conn")


def _name(conn) -> str:
    return conn.execute("SHOW application_name").fetchone()[0]


def test_the_session_is_named_after_the_calling_module(database: str) -> None:
    with connections.connect(database) as conn:
        assert _name(conn) == f"sharehub:{__name__}"
    with connection.connect(database) as conn:  # the hub's wrapper names its caller, not itself
        assert _name(conn) == f"sharehub:{__name__}"


def test_a_production_caller_is_named_in_pg_stat_activity(database: str) -> None:
    pool = Pool(database, size=1)
    try:
        with pool.connection() as pooled, connections.connect(database) as watcher:
            pid = pooled.info.backend_pid
            row = watcher.execute("SELECT application_name FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            assert row == ("sharehub:hub.api.pool",)
    finally:
        pool.close()


def test_a_name_in_the_uri_is_kept_and_an_explicit_name_wins(database: str) -> None:
    named = make_conninfo(database, application_name="deployment-name")
    with connections.connect(named) as conn:
        assert _name(conn) == "deployment-name"
    with connection.connect(named, application_name="explicit") as conn:
        assert _name(conn) == "explicit"


def test_transactions_by_default_autocommit_on_request(database: str) -> None:
    with connection.connect(database) as conn:
        assert conn.autocommit is False
        conn.execute("SELECT 1")
        assert conn.info.transaction_status == pq.TransactionStatus.INTRANS
    with connection.connect(database, autocommit=True) as conn:
        conn.execute("SELECT 1")
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE


def test_a_committed_with_block_and_a_failed_one(database: str) -> None:
    with connection.connect(database) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (v int)")
    with pytest.raises(RuntimeError), connection.connect(database) as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("rolled back")
    with connection.connect(database, row_factory=dict_row) as conn:
        assert conn.execute("SELECT count(*) AS n FROM t").fetchone() == {"n": 0}


def test_without_a_uri_it_opens_the_shared_store(store: str) -> None:
    with connection.connect() as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == urlsplit(store).path.lstrip("/")
        assert _name(conn) == f"sharehub:{__name__}"
