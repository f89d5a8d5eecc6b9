"""Failed authentications, counted per source address and minute (``access.auth_failure``).

A client sending bad keys in a loop must not grow the audit log by a row per request nor hold
its chain lock: each source gets one counter row per minute, and only the first failure of a
source in a minute is appended to the audit (naming the counter), so the attempt stays auditable.
The path is kept truncated; the key itself never.
"""

from __future__ import annotations

import psycopg

from hub.access.audit import AuditEvent, append

PATH_CHARS = 200

_COUNT = """
INSERT INTO access.auth_failure (source, minute, failures, dept_code, reason, path)
VALUES (%s, date_trunc('minute', now()), 1, %s, %s, %s)
ON CONFLICT (source, minute) DO UPDATE SET failures = access.auth_failure.failures + 1
RETURNING failures, minute
"""


def record(conn: psycopg.Connection, source: str, dept: str | None, reason: str, method: str, path: str) -> int:
    """Count one failure of ``source``; audit it when it is the source's first in this minute.

    Returns:
        The failures counted for ``source`` in this minute so far.
    """
    where = f"{method} {path[:PATH_CHARS]}" + ("…" if len(path) > PATH_CHARS else "")
    failures, minute = conn.execute(_COUNT, (source, dept, reason[:PATH_CHARS], where)).fetchone()
    if failures == 1:
        append(
            conn,
            AuditEvent(
                dept,
                "auth",
                "refused",
                detail=f"{reason} ({where}) from {source}; further failures of this source in the minute "
                f"{minute.isoformat(timespec='minutes')} are counted in access.auth_failure",
            ),
        )
    return failures
