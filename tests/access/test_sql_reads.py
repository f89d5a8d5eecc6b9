"""Every read through a department's SQL views reaches the audit: view, time, rows."""

from __future__ import annotations

import psycopg
import pytest

from hub.access import audit, sqlreads, sqlviews
from hub.store.roles import with_login
from tests.access.conftest import Hub


def _reads(hub: Hub, dept: str) -> list[tuple]:
    with hub.connect() as conn:
        return conn.execute(
            "SELECT resource, row_count, detail FROM access.audit WHERE dept_code = %s AND action = 'sql.read' "
            "ORDER BY seq",
            (dept,),
        ).fetchall()


def test_a_departments_view_reads_are_audited_with_view_time_and_rows(hub_store: Hub) -> None:
    dept, _ = hub_store.new_department("R")
    with hub_store.connect() as conn:
        role, password = sqlviews.enable(conn, dept)
        total = conn.execute("SELECT count(*) FROM shared.population").fetchone()[0]
    schema = sqlviews.schema_name(dept)
    with psycopg.connect(with_login(hub_store.uri, role, password), autocommit=True) as conn:
        everyone = conn.execute(f"SELECT id_number, name FROM {schema}.population").fetchall()
        # the view hands over every row it releases; the reader's own LIMIT/WHERE apply afterwards
        five = conn.execute(f"SELECT name FROM {schema}.population LIMIT 5").fetchall()
        with conn.transaction():  # a read the department rolls back is still audited
            conn.execute(f"SELECT * FROM {schema}.market_entity").fetchall()
            raise psycopg.Rollback()
    assert len(everyone) == total and len(five) == 5
    with hub_store.connect() as conn:
        assert sqlreads.ingest(conn) == 3
        assert sqlreads.ingest(conn) == 0  # each read once
        assert audit.verify(conn).ok
    reads = _reads(hub_store, dept)
    assert [r[:2] for r in reads[:2]] == [("shared.population", total), ("shared.population", total)]
    assert reads[0][2].startswith(f"view {schema}.population read at 20") and "(read #1)" in reads[0][2]
    assert reads[2] == (
        None,
        0,
        "1 view reads left no record (transaction rolled back, failed or still running): #3; view and rows unknown",
    )


def test_a_department_cannot_forge_or_skip_its_read_records(hub_store: Hub) -> None:
    dept, _ = hub_store.new_department("R")
    other, _ = hub_store.new_department("R")
    with hub_store.connect() as conn:
        role, password = sqlviews.enable(conn, dept)
        sqlviews.enable(conn, other)
    src = sqlviews.source_schema(dept)
    with psycopg.connect(with_login(hub_store.uri, role, password), autocommit=True) as conn:
        for attack in (
            f"SELECT count(*) FROM {src}.population",  # the unrecorded select behind the view
            "DELETE FROM access.sql_read",
            f"INSERT INTO access.sql_read VALUES ('{dept}', 99, 'x', now(), 0)",
            f"SELECT setval('{sqlviews.read_counter(dept)}', 1)",
            f"SELECT count(*) FROM {sqlviews.source_schema(other)}.read_population()",
            "SET search_path = evil, pg_catalog",
        ):
            if attack.startswith("SET"):
                continue  # allowed, and harmless: the recording function pins its own search_path
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(attack)
