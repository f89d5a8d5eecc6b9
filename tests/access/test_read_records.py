"""Rows of a page become JSON-ready dicts: plain types as they are, the others converted, ordering columns left out."""

from __future__ import annotations

import psycopg
import pytest

from hub.access import grants, reads
from hub.access.catalogue import tables
from hub.store.migrate import migrate
from tests.conftest import fresh_database


@pytest.fixture(scope="module")
def conn() -> psycopg.Connection:
    with psycopg.connect(fresh_database("read_records"), autocommit=True) as c:
        yield c


def test_only_columns_that_need_it_are_converted(conn: psycopg.Connection) -> None:
    rows, columns = reads._fetch(
        conn,
        "SELECT 'a'::text, 7::int8, 1.5::numeric, date '2020-01-02', NULL::date, true, 'k' AS _k0 "
        "UNION ALL SELECT NULL, NULL, NULL, NULL, date '2021-03-04', false, 'l'",
        [],
    )
    names = ["t", "i", "n", "d", "e", "b"]
    out = reads._records(names, columns[: len(names)], rows)
    assert out == [
        {"t": "a", "i": 7, "n": "1.5", "d": "2020-01-02", "e": None, "b": True},
        {"t": None, "i": None, "n": None, "d": None, "e": "2021-03-04", "b": False},
    ]
    plain = reads._records(["t", "i"], columns[:2], rows)  # no conversion needed: the rest of the row is left out
    assert plain == [{"t": "a", "i": 7}, {"t": None, "i": None}]


def test_fetch_in_a_callers_transaction_keeps_it_usable_after_a_bad_value(conn: psycopg.Connection) -> None:
    with conn.transaction():
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            reads._fetch(conn, "SELECT %s::int", ["x"])
        assert reads._fetch(conn, "SELECT 1", [])[0] == [(1,)]
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_require_fields_asks_the_store_only_when_a_grant_could_matter() -> None:
    uri = fresh_database("require_fields")
    migrate(uri)
    cert = reads.certificate_table()
    assert cert is not None
    with psycopg.connect(uri, autocommit=True) as live:
        with pytest.raises(grants.AccessDenied, match="640100-HUB-0001"):
            grants.require_fields(live, "MZ", cert, ["certificate_id", "status"])
    # every field is open to every department: answered without the store (the connection is closed)
    grants.require_fields(live, "MZ", tables()["shared.population"], ["id_number", "name", "status"])
    with pytest.raises(psycopg.OperationalError):
        grants.require_fields(live, "MZ", cert, ["certificate_id"])
