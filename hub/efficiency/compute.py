"""Recompute ``shared.service_efficiency`` and ``shared.service_bad_review`` for the days that changed.

One transaction under an advisory lock:

1. sync the shipped calendar; if the calendar differs from the one the indicators were computed
   with, start over (every due date may move);
2. find the cases touched by step rows not yet folded in (``hub.efficiency_seen`` records each
   step batch and the newest ``loaded_at`` folded, so a late, out-of-order or re-run batch is
   found exactly, whatever its timestamps) and by changed 差评 follow-ups;
3. rebuild those cases' facts from all their steps (order of arrival does not matter);
4. the affected stat dates are those where the old and the new facts contribute differently,
   plus the days since the last computation (a full computation: every day up to ``as_of``);
   only those dates are deleted and inserted again.

Running it twice changes nothing the second time; a full recompute gives the same table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import psycopg

from hub import faults
from hub.efficiency import calendar, sql
from hub.store.connection import connect
from schemas.tables.service_efficiency import SERVICE_BAD_REVIEW, SERVICE_EFFICIENCY

_LOCK = "hub.efficiency"
OUTPUT_TABLES = (SERVICE_EFFICIENCY.qualified_name, SERVICE_BAD_REVIEW.qualified_name)


@dataclass(frozen=True)
class RecomputeResult:
    """What one computation did."""

    as_of: dt.date
    full: bool
    changed_cases: int
    affected_days: list[dt.date]
    rows_written: int

    def to_json(self) -> dict:
        """JSON-ready form (dates as ISO strings)."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["affected_days"] = [d.isoformat() for d in self.affected_days]
        return data


def recompute(uri: str, as_of: dt.date, *, batch_id: str = "efficiency:manual", full: bool = False) -> RecomputeResult:
    """Bring the efficiency tables up to date with the steps in the store.

    Args:
        uri: The shared store.
        as_of: The last stat date (normally today in Asia/Shanghai); never moves backwards.
        batch_id: Written to the rows' lineage (``efficiency:<Airflow run id>`` from the DAG).
        full: Discard the state and recompute every day.

    Returns:
        What was recomputed.
    """
    with connect(uri) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK,))
        conn.execute("SET LOCAL work_mem = '128MB'")  # lets the set operations hash instead of spilling
        calendar.sync_package(conn)
        fingerprint = calendar.fingerprint(conn)
        state = conn.execute("SELECT as_of, calendar_fingerprint FROM hub.efficiency_state").fetchone()
        full = full or state is None or state[1] != fingerprint
        since: dt.date | None = None
        if full:
            conn.execute(f"TRUNCATE hub.efficiency_case, hub.efficiency_seen, {', '.join(OUTPUT_TABLES)}")
            as_of = max(as_of, state[0]) if state else as_of
        else:
            since = state[0]
            as_of = max(as_of, since)
        params = {"as_of": as_of, "since": since, "batch_id": batch_id}
        for script in (sql.CALENDAR, sql.CHANGED, sql.NEW_FACTS):
            _run(conn, script, params)
        if full:
            _run(conn, sql.AFFECTED_ALL, params)
        else:
            old = sql.contributions_sql(sql.OLD_FACTS, only_affected=False)
            new = sql.contributions_sql("new_facts", only_affected=False)
            _run(conn, sql.AFFECTED.format(old=old, new=new), params)
        _run(conn, sql.FOLD_FACTS, params)
        written = _run(conn, sql.stats_insert_sql(), params)
        _run(conn, sql.BAD_REVIEWS, params)
        faults.checkpoint("efficiency.before_commit")
        changed = conn.execute("SELECT count(*) FROM changed").fetchone()[0]
        days = [r[0] for r in conn.execute("SELECT d FROM affected ORDER BY d").fetchall()]
        result = RecomputeResult(as_of, full, changed, days, written)
        conn.execute(
            "INSERT INTO hub.efficiency_state (as_of, calendar_fingerprint, computed_at, last_run) "
            "VALUES (%s, %s, now(), %s) ON CONFLICT (id) DO UPDATE SET as_of = excluded.as_of, "
            "calendar_fingerprint = excluded.calendar_fingerprint, computed_at = now(), last_run = excluded.last_run",
            (as_of, fingerprint, psycopg.types.json.Jsonb({**result.to_json(), "affected_days": len(days)})),
        )
    return result


def _run(conn: psycopg.Connection, script: str, params: dict) -> int:
    """Run each statement of ``script``; return the row count of the last one."""
    count = 0
    with conn.cursor() as cur:
        for stmt in (s.strip() for s in script.split(";\n")):
            if stmt:
                cur.execute(stmt, params if "%(" in stmt else None)
                count = cur.rowcount
    return count
