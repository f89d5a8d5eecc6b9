"""The append-only, SM3 hash-chained audit log (``access.audit``).

Each entry's hash is SM3 over the previous entry's hash and the entry's canonical JSON, so
changing any stored value breaks that entry's hash, and deleting an entry breaks the next
entry's ``prev_hash`` (or, for the last entry, the ``access.audit_head`` row). Appends take a
transaction-level advisory lock so the chain stays linear under concurrent writers. The table
refuses UPDATE, DELETE and TRUNCATE by trigger and by privilege; ``verify`` is for what a
superuser could still do by disabling the trigger.

Audit entries never contain personal values: ``detail`` carries rule names and counts only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from hub.store.connection import connect

GENESIS = "0" * 64
_LOCK_KEY = 640100_0400


@dataclass(frozen=True)
class AuditEvent:
    """What is recorded about one access decision.

    Attributes:
        dept_code: Who (``None`` when the key was not recognised).
        action: e.g. ``query``, ``verify.person``, ``grant.approve``, ``sql.sync``, ``auth``.
        outcome: ``allowed`` or ``refused``.
        resource: Qualified table name, if any.
        fields: Fields read or requested.
        row_count: Rows returned.
        purpose: Stated purpose of the read.
        detail: Reason for a refusal or other non-personal detail.
    """

    dept_code: str | None
    action: str
    outcome: str
    resource: str | None = None
    fields: Sequence[str] = field(default_factory=tuple)
    row_count: int = 0
    purpose: str | None = None
    detail: str = ""


def _digest(prev_hash: str, seq: int, at: dt.datetime, ev: AuditEvent) -> str:
    body = json.dumps(
        [
            seq,
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            ev.dept_code,
            ev.action,
            ev.resource,
            list(ev.fields),
            int(ev.row_count),
            ev.purpose,
            ev.outcome,
            ev.detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.new("sm3", (prev_hash + body).encode()).hexdigest()


def append(conn: psycopg.Connection, ev: AuditEvent) -> int:
    """Append ``ev`` to the chain inside the caller's transaction (or its own). Returns its seq."""
    return append_many(conn, [ev])[0]


_INSERT = (
    "INSERT INTO access.audit (seq, at, dept_code, action, resource, fields, row_count, purpose, outcome,"
    " detail, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def append_many(conn: psycopg.Connection, events: Sequence[AuditEvent]) -> list[int]:
    """Append ``events`` in order, chained, in one transaction (the caller's, or its own). Returns their seqs.

    One lock, one head read, one pipelined batch of inserts and one commit for the lot: what a
    group commit of many requests' records costs instead of one of each per record.
    """
    if not events:
        return []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        head = conn.execute("SELECT seq, hash FROM access.audit_head WHERE id = 1").fetchone()
        seq, prev = (head[0], head[1]) if head else (0, GENESIS)
        at = dt.datetime.now(dt.UTC)
        rows, seqs = [], []
        for ev in events:
            seq += 1
            digest = _digest(prev, seq, at, ev)
            rows.append(
                (
                    seq,
                    at,
                    ev.dept_code,
                    ev.action,
                    ev.resource,
                    list(ev.fields),
                    ev.row_count,
                    ev.purpose,
                    ev.outcome,
                    ev.detail,
                    prev,
                    digest,
                )
            )
            seqs.append(seq)
            prev = digest
        if len(rows) == 1:
            conn.execute(_INSERT, rows[0])
        else:
            conn.cursor().executemany(_INSERT, rows)
        conn.execute(
            "INSERT INTO access.audit_head (id, seq, hash) VALUES (1, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            (seq, prev),
        )
    return seqs


def record(uri: str, ev: AuditEvent) -> int:
    """Append ``ev`` on a connection of its own (for refusals outside a read's transaction)."""
    with connect(uri) as conn:
        return append(conn, ev)


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify` found: ``ok`` and one line per broken link."""

    entries: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        """Whether the chain is intact."""
        return not self.problems


def verify(conn: psycopg.Connection) -> ChainReport:
    """Recompute the whole chain and report modified, deleted or inserted entries."""
    problems: list[str] = []
    prev_hash, prev_seq, n = GENESIS, 0, 0
    cur = conn.execute(
        "SELECT seq, at, dept_code, action, resource, fields, row_count, purpose, outcome, detail, prev_hash, hash "
        "FROM access.audit ORDER BY seq"
    )
    for seq, at, dept, action, resource, fields, rows, purpose, outcome, detail, stored_prev, stored in cur:
        n += 1
        if seq != prev_seq + 1 or stored_prev != prev_hash:
            problems.append(f"entry {seq}: chain broken after entry {prev_seq} (entries missing or reordered)")
        ev = AuditEvent(dept, action, outcome, resource, tuple(fields), rows, purpose, detail)
        if _digest(stored_prev, seq, at, ev) != stored:
            problems.append(f"entry {seq}: content does not match its hash (modified)")
        prev_hash, prev_seq = stored, seq
    head = conn.execute("SELECT seq, hash FROM access.audit_head WHERE id = 1").fetchone()
    if head is not None and (head[0], head[1]) != (prev_seq, prev_hash):
        problems.append(f"head is entry {head[0]} but the log ends at entry {prev_seq} (entries deleted at the end)")
    return ChainReport(n, problems)
