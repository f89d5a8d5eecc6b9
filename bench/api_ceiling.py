"""The ceiling of the API bench: the SQL the API runs for each call, run directly through psycopg.

Same role (``<db>__api``), same number of connections as the load generator keeps open, same
library calls in the same order as the routes of :mod:`hub.api.app` (authenticate the key, count
the budget, read, append the audit record durably through the same group-committing writer),
without HTTP, ASGI or JSON. API / ceiling is then what the web layer costs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from bench.http_load import percentile


def _run(uri: str, call: Callable[[psycopg.Connection, int], Any], requests: int, concurrency: int) -> dict:
    counter = iter(range(requests))
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[BaseException] = []
    conns = [psycopg.connect(uri, autocommit=True) for _ in range(concurrency)]

    def worker(conn: psycopg.Connection) -> None:
        mine: list[float] = []
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                t0 = time.perf_counter()
                call(conn, i)
                mine.append(time.perf_counter() - t0)
        except BaseException as err:  # reported, not swallowed: a failing ceiling is no ceiling
            failures.append(err)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
    cpu0, t0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    for c in conns:
        c.close()
    if failures:
        raise RuntimeError(f"the ceiling's calls failed: {failures[0]!r}") from failures[0]
    return {
        "requests": requests,
        "connections": concurrency,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(requests / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "client_cpu_ms_per_request": round(cpu * 1000 / requests, 3),
    }


def verify_person(uri: str, token: str, persons: list[dict], purpose: str, requests: int, concurrency: int) -> dict:
    """``POST /v1/verify/person``'s SQL ``requests`` times over ``concurrency`` connections."""
    from hub.access import budgets, consumers, digest, reads
    from hub.access.audit import AuditEvent
    from hub.access.audit_writer import AuditWriter

    writer = AuditWriter(lambda: psycopg.connect(uri, autocommit=True))
    fields = ["id_number", "name", "status"]

    def call(conn: psycopg.Connection, i: int) -> None:
        p = persons[i % len(persons)]
        dept = consumers.authenticate(conn, token)
        budgets.consume(conn, dept, "shared.population", "verify")
        reads.verify_person(conn, dept, p["id_number"], p["name"])
        subject = f"subject {digest.keyed(p['id_number'])}"
        writer.write(AuditEvent(dept, "verify.person", "allowed", "shared.population", fields, 1, purpose, subject))

    try:
        return _run(uri, call, requests, concurrency)
    finally:
        writer.close()


def paged_query(uri: str, token: str, body: dict, purpose: str, requests: int, concurrency: int) -> dict:
    """``POST /v1/resources/{ref}/query``'s SQL, following cursors, over ``concurrency`` connections."""
    from hub.access import catalogue, consumers, reads
    from hub.access.audit import AuditEvent
    from hub.access.audit_writer import AuditWriter

    writer = AuditWriter(lambda: psycopg.connect(uri, autocommit=True))
    cursors: dict[int, str | None] = {}

    def call(conn: psycopg.Connection, _: int) -> None:
        dept = consumers.authenticate(conn, token)
        table = catalogue.resolve(body["ref"])
        page = reads.query(conn, dept, table, body["fields"], [], cursors.get(id(conn)), body["limit"])
        cursors[id(conn)] = page.next_cursor
        ev = AuditEvent(dept, "query", "allowed", table.qualified_name, page.fields, len(page.rows), purpose)
        writer.write(ev)

    try:
        return _run(uri, call, requests, concurrency)
    finally:
        writer.close()
