"""Derive case record versions: each new version of a ``shared.service_case`` row becomes one.

The case record version and its outbox row are the same row of ``hub.push_outbox`` (kind
``cases``), written together with the derive state in one transaction per chunk.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from hub.push.certificates import DERIVE_LOCK
from hub.store.connection import connect

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHUNK = 2000
COLUMNS = (
    "case_no",
    "version",
    "item_code",
    "item_name",
    "applicant_type",
    "applicant_name",
    "applicant_id",
    "dept_code",
    "dept_name",
    "channel",
    "status",
    "submitted_at",
    "accepted_at",
    "completed_at",
    "promised_days",
    "result",
    "satisfaction",
)


def case_payload(row: dict[str, Any]) -> dict[str, Any]:
    """The platform's case record for one ``shared.service_case`` row (instants in +08:00)."""
    out = {}
    for name in COLUMNS:
        value = row[name]
        if isinstance(value, dt.datetime):
            value = value.astimezone(SHANGHAI).isoformat()
        out[name] = value
    return out


def derive_cases(uri: str) -> dict[str, int]:
    """Create a case record version (an outbox row) for every case whose version rose.

    Returns:
        Counts: ``versions`` created.
    """
    cols = ", ".join(f"c.{c}" for c in COLUMNS)
    created = 0
    with connect(uri) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (DERIVE_LOCK + 1,))
        conn.commit()
        try:
            while True:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(
                        f"SELECT {cols} FROM shared.service_case c LEFT JOIN hub.case_source s USING (case_no) "
                        "WHERE s.case_no IS NULL OR c.version > s.latest_version ORDER BY c.case_no LIMIT %s",
                        (CHUNK,),
                    )
                    rows = [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]
                    if not rows:
                        break
                    cur.executemany(
                        "INSERT INTO hub.push_outbox (kind, record_key, version, payload) VALUES ('cases', %s, %s, %s)"
                        " ON CONFLICT (kind, record_key, version) DO NOTHING",
                        [(r["case_no"], r["version"], Jsonb(case_payload(r))) for r in rows],
                    )
                    cur.executemany(
                        "INSERT INTO hub.case_source (case_no, latest_version) VALUES (%s, %s) ON CONFLICT (case_no)"
                        " DO UPDATE SET latest_version = excluded.latest_version, updated_at = now()",
                        [(r["case_no"], r["version"]) for r in rows],
                    )
                    created += len(rows)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (DERIVE_LOCK + 1,))
            conn.commit()
    return {"versions": created}
