"""Reads through the departments' SQL views, moved into the hash-chained audit.

A department's view records each read (view, time, rows) in ``access.sql_read`` from inside
the read (:mod:`hub.access.sqlviews`); the audit chain needs SM3, which PostgreSQL lacks, so
:func:`ingest` appends them as ``sql.read`` entries and deletes them, in one transaction. It
runs before every checkpoint (the ``audit_checkpoint`` DAG, ``hub audit checkpoint``) and on
``hub audit ingest``. A read number with no recorded row is a read whose transaction was
rolled back, or that failed or was still running: it is audited too, as such.
"""

from __future__ import annotations

import psycopg

from hub.access.audit import AuditEvent, append
from hub.access.sqlviews import read_counter


def ingest(conn: psycopg.Connection) -> int:
    """Append every recorded view read to the audit; returns the number of entries appended."""
    appended = 0
    with conn.transaction():
        conn.execute("LOCK TABLE access.sql_read_seen IN EXCLUSIVE MODE")  # one ingest at a time
        reads = conn.execute("DELETE FROM access.sql_read RETURNING dept_code, n, view, at, row_count").fetchall()
        by_dept: dict[str, list[int]] = {}
        for dept, n, view, at, rows in sorted(reads, key=lambda r: (r[3], r[0], r[1])):
            resource = "shared." + view.rsplit(".", 1)[1]
            detail = f"view {view} read at {at.isoformat(timespec='microseconds')} (read #{n})"
            append(conn, AuditEvent(dept, "sql.read", "allowed", resource, (), rows, None, detail))
            by_dept.setdefault(dept, []).append(n)
            appended += 1
        for (dept,) in conn.execute("SELECT dept_code FROM access.sql_access ORDER BY dept_code").fetchall():
            appended += _unrecorded(conn, dept, set(by_dept.get(dept, [])))
    return appended


def _unrecorded(conn: psycopg.Connection, dept: str, recorded: set[int]) -> int:
    """Audit the read numbers of ``dept`` since the last ingest that left no row; returns 0 or 1."""
    seq = read_counter(dept)
    if conn.execute("SELECT to_regclass(%s)", (seq,)).fetchone()[0] is None:
        return 0
    last, called = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()
    top = last if called else 0
    seen = conn.execute("SELECT last_n FROM access.sql_read_seen WHERE dept_code = %s", (dept,)).fetchone()
    since = seen[0] if seen else 0
    missing = [n for n in range(since + 1, top + 1) if n not in recorded]
    conn.execute(
        "INSERT INTO access.sql_read_seen (dept_code, last_n) VALUES (%s, %s) "
        "ON CONFLICT (dept_code) DO UPDATE SET last_n = excluded.last_n",
        (dept, max(top, since)),
    )
    if not missing:
        return 0
    shown = ", ".join(f"#{n}" for n in missing[:20]) + (" ..." if len(missing) > 20 else "")
    detail = (
        f"{len(missing)} view reads left no record (transaction rolled back, failed or still running): {shown}; "
        "view and rows unknown"
    )
    append(conn, AuditEvent(dept, "sql.read", "allowed", None, (), 0, None, detail))
    return 1
