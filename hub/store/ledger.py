"""The batch ledger: one row per source run, balancing rows in against rows accounted for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from hub.store.connection import connect


@dataclass(frozen=True)
class LedgerEntry:
    """One batch as the ledger records it."""

    batch_id: str
    source: str
    run_id: str
    target_table: str
    status: str
    extracted: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    attempts: int
    started_at: datetime
    finished_at: datetime
    cursor_from: dict[str, Any] | None = None
    cursor_to: dict[str, Any] | None = None
    drift_columns: list[str] = field(default_factory=list)
    rule_counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def balanced(self) -> bool:
        """Rows in = inserted + updated + unchanged + quarantined."""
        return self.extracted == self.inserted + self.updated + self.unchanged + self.quarantined

    def counts(self) -> dict[str, int]:
        """The five counts of ``python -m devkit demo --json``."""
        return {k: getattr(self, k) for k in ("extracted", "inserted", "updated", "unchanged", "quarantined")}

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (cursors left out: they may hold a source key)."""
        data = asdict(self)
        data.pop("cursor_from")
        data.pop("cursor_to")
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        return data


_COLUMNS = (
    "batch_id, source, run_id, target_table, status, extracted, inserted, updated, unchanged, quarantined, "
    "attempts, started_at, finished_at, cursor_from, cursor_to, drift_columns, rule_counts, error"
)


def _entry(row: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(**row)


def get(uri: str, batch_id: str) -> LedgerEntry | None:
    """The ledger row of ``batch_id``, if any."""
    with connect(uri, row_factory=dict_row) as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM hub.ledger WHERE batch_id = %s", (batch_id,)).fetchone()
    return _entry(row) if row else None


def entries(uri: str, source: str | None = None, limit: int = 100) -> list[LedgerEntry]:
    """Recent ledger rows, newest first, optionally for one source."""
    sql = f"SELECT {_COLUMNS} FROM hub.ledger"
    params: tuple[Any, ...] = ()
    if source:
        sql += " WHERE source = %s"
        params = (source,)
    sql += " ORDER BY started_at DESC, batch_id LIMIT %s"
    with connect(uri, row_factory=dict_row) as conn:
        return [_entry(r) for r in conn.execute(sql, (*params, limit)).fetchall()]


def record_failure(
    uri: str, *, batch_id: str, source: str, run_id: str, target_table: str, started_at: datetime, error: str
) -> None:
    """Record a failed attempt in its own transaction (the load's transaction was rolled back).

    A batch that already succeeded keeps its counts and status; only the error and attempt
    count change, so a failed re-run cannot hide a good load.
    """
    with connect(uri) as conn:
        conn.execute(
            "INSERT INTO hub.ledger (batch_id, source, run_id, target_table, status, started_at, error) "
            "VALUES (%s, %s, %s, %s, 'failed', %s, %s) "
            "ON CONFLICT (batch_id) DO UPDATE SET attempts = hub.ledger.attempts + 1, error = excluded.error, "
            "finished_at = now()",
            (batch_id, source, run_id, target_table, started_at, error[:4000]),
        )


@contextmanager
def failure_recorded(
    uri: str, *, batch_id: str, source: str, run_id: str, target_table: str, started_at: datetime
) -> Iterator[None]:
    """Run the block; if it raises, record the failed attempt (:func:`record_failure`) and re-raise."""
    try:
        yield
    except Exception as err:
        record_failure(
            uri,
            batch_id=batch_id,
            source=source,
            run_id=run_id,
            target_table=target_table,
            started_at=started_at,
            error=f"{type(err).__name__}: {err}",
        )
        raise


def cursor(uri: str, source: str) -> dict[str, Any] | None:
    """The committed cursor of ``source``."""
    with connect(uri) as conn:
        row = conn.execute("SELECT value FROM hub.cursor WHERE source = %s", (source,)).fetchone()
    return row[0] if row else None


def dumps(value: Any) -> str:
    """JSON for jsonb parameters."""
    return json.dumps(value, ensure_ascii=False, default=str)
