"""Group commit of audit records: concurrent writers get a linear chain, and a write returns only when durable."""

from __future__ import annotations

import threading

import psycopg
import pytest

from hub.access import audit
from hub.access.audit import AuditEvent
from hub.access.audit_writer import AuditWriter
from hub.store.migrate import migrate
from tests.conftest import fresh_database


@pytest.fixture
def store() -> str:
    uri = fresh_database("audit_writer")
    migrate(uri)
    return uri


def _event(i: int) -> AuditEvent:
    return AuditEvent("MZ", "verify.person", "allowed", "shared.population", ["id_number"], 1, "核验", f"n{i}")


def test_append_many_chains_a_batch_after_earlier_entries(store: str) -> None:
    with psycopg.connect(store, autocommit=True) as conn:
        assert audit.append(conn, _event(0)) == 1
        assert audit.append_many(conn, [_event(i) for i in range(1, 6)]) == [2, 3, 4, 5, 6]
        assert audit.append_many(conn, []) == []
        report = audit.verify(conn)
        details = [r[0] for r in conn.execute("SELECT detail FROM access.audit ORDER BY seq")]
    assert report.ok and report.entries == 6
    assert details == [f"n{i}" for i in range(6)]


def test_concurrent_writes_are_each_committed_before_write_returns(store: str) -> None:
    writer = AuditWriter(lambda: psycopg.connect(store, autocommit=True))
    seen: dict[int, bool] = {}
    lock = threading.Lock()

    def caller(t: int) -> None:
        with psycopg.connect(store, autocommit=True) as reader:
            for i in range(25):
                seq = writer.write(_event(t * 100 + i))
                # another connection sees the record as soon as write() returns: it is committed
                found = reader.execute("SELECT detail FROM access.audit WHERE seq = %s", (seq,)).fetchone()
                with lock:
                    seen[seq] = found == (f"n{t * 100 + i}",)

    threads = [threading.Thread(target=caller, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert sorted(seen) == list(range(1, 201)) and all(seen.values())
    with psycopg.connect(store) as conn:
        assert audit.verify(conn).ok


def test_a_failed_batch_fails_its_callers_and_appends_nothing(store: str) -> None:
    def refused() -> psycopg.Connection:
        raise psycopg.OperationalError("store unreachable")

    writer = AuditWriter(refused)
    with pytest.raises(psycopg.OperationalError, match="unreachable"):
        writer.write(_event(1))
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.write(_event(2))
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM access.audit").fetchone()[0] == 0
