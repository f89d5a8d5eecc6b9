"""Per-source freshness: how old the newest load is against what the source's schedule allows.

A source's age is the time since its cursor last moved with a load, or since its last
succeeded batch when newer (a quiet source whose runs find nothing new is not late). It is
late when the age exceeds ``HUB_FRESHNESS_FACTOR`` (default 2, one missed run tolerated)
schedule intervals. Late sources raise an alert two ways, both handled by :func:`alert`:
the ``watch_freshness`` DAG checks every source on a schedule, and each ingest DAG carries an
Airflow ``DeadlineAlert`` that fires when one of its runs is not done in time.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
from dataclasses import dataclass
from typing import Any

from hub import registry
from hub.registry import SourceSpec
from hub.store.connection import connect, store_uri

log = logging.getLogger(__name__)

_PRESETS = {
    "@hourly": dt.timedelta(hours=1),
    "@daily": dt.timedelta(days=1),
    "@midnight": dt.timedelta(days=1),
    "@weekly": dt.timedelta(weeks=1),
    "@monthly": dt.timedelta(days=31),
    "@yearly": dt.timedelta(days=366),
    "@annually": dt.timedelta(days=366),
}


def schedule_interval(schedule: str) -> dt.timedelta:
    """The (longest) gap between two runs of an Airflow schedule preset or cron expression."""
    if schedule in _PRESETS:
        return _PRESETS[schedule]
    from croniter import croniter

    it = croniter(schedule, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    fires = [it.get_next(dt.datetime) for _ in range(50)]
    return max(b - a for a, b in itertools.pairwise(fires))


def deadline_interval(spec: SourceSpec) -> dt.timedelta:
    """How long after it was queued a run of ``spec`` may take: one schedule interval.

    ``HUB_DEADLINE_<SOURCE>_SECONDS`` overrides it (read when the DAG file is parsed).
    """
    override = os.environ.get(f"HUB_DEADLINE_{spec.name.upper()}_SECONDS")
    return dt.timedelta(seconds=float(override)) if override else schedule_interval(spec.schedule)


def allowed_age(spec: SourceSpec) -> dt.timedelta:
    """How old a source's newest load may be before it is late."""
    return schedule_interval(spec.schedule) * float(os.environ.get("HUB_FRESHNESS_FACTOR", "2"))


@dataclass(frozen=True)
class Freshness:
    """One source's freshness."""

    source: str
    schedule: str
    last_loaded_at: dt.datetime | None
    age_seconds: float | None
    allowed_seconds: float
    cursor: dict[str, Any] | None

    @property
    def late(self) -> bool:
        """Never loaded, or loaded longer ago than allowed."""
        return self.age_seconds is None or self.age_seconds > self.allowed_seconds

    def to_json(self) -> dict[str, Any]:
        """JSON-ready; the cursor is left out (it may hold a source key such as an ID number)."""
        return {
            "source": self.source,
            "schedule": self.schedule,
            "last_loaded_at": self.last_loaded_at.isoformat() if self.last_loaded_at else None,
            "age_seconds": self.age_seconds,
            "allowed_seconds": self.allowed_seconds,
            "late": self.late,
        }


def freshness(uri: str, now: dt.datetime | None = None) -> list[Freshness]:
    """The freshness of every registered source in the store at ``uri``."""
    now = now or dt.datetime.now(dt.UTC)

    with connect(uri) as conn:
        rows = conn.execute(
            """
            SELECT s.source, greatest(c.updated_at, l.finished_at), c.value
            FROM unnest(%s::text[]) AS s(source)
            LEFT JOIN hub.cursor c ON c.source = s.source
            LEFT JOIN LATERAL (
                SELECT max(finished_at) AS finished_at FROM hub.ledger
                WHERE source = s.source AND status = 'succeeded'
            ) l ON true
            """,
            ([s.name for s in registry.SOURCES],),
        ).fetchall()
    loaded = {r[0]: (r[1], r[2]) for r in rows}
    result = []
    for spec in registry.SOURCES:
        at, cursor = loaded.get(spec.name, (None, None))
        result.append(
            Freshness(
                source=spec.name,
                schedule=spec.schedule,
                last_loaded_at=at,
                age_seconds=(now - at).total_seconds() if at else None,
                allowed_seconds=allowed_age(spec).total_seconds(),
                cursor=cursor,
            )
        )
    return result


def alert(uri: str, item: Freshness, kind: str, run_id: str | None = None) -> None:
    """Record and log that ``item``'s source is late (no personal data: counts and times only)."""
    age = "never loaded" if item.age_seconds is None else f"newest load {item.age_seconds / 3600:.1f} h old"
    message = f"source {item.source} is late: {age}, allowed {item.allowed_seconds / 3600:.1f} h ({item.schedule})"
    log.warning(message)

    with connect(uri) as conn:
        conn.execute(
            "INSERT INTO hub.freshness_alert (source, kind, age_seconds, allowed_seconds, run_id, message) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (item.source, kind, item.age_seconds, item.allowed_seconds, run_id, message),
        )


def check_all(uri: str, run_id: str | None = None) -> list[dict[str, Any]]:
    """Alert for every late source (the ``watch_freshness`` DAG's task); return every source's freshness."""
    report = freshness(uri)
    for item in report:
        if item.late:
            alert(uri, item, "watch", run_id)
    return [item.to_json() for item in report]


def deadline_missed(source: str, context: dict[str, Any] | None = None, **_: Any) -> None:
    """Callback of the ingest DAGs' ``DeadlineAlert``: a run of ``source`` did not finish in time."""
    uri = store_uri()
    item = next(f for f in freshness(uri) if f.source == source)
    # The scheduler passes the run as the REST API's DAGRunResponse, as JSON.
    dag_run = (context or {}).get("dag_run") or {}
    run_id = dag_run.get("dag_run_id") or dag_run.get("run_id")
    alert(uri, item, "deadline", run_id)
