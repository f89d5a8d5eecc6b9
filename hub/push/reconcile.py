"""Daily 对账 with the provincial platform.

For each kind and day (Asia/Shanghai), the platform's count and SM3 digest of the sorted
``key:version`` lines it accepted are compared with what the hub holds as delivered on that
day. On a difference the delivered rows of that day are re-queued: the platform answers
``DUPLICATE`` for what it has (they keep their day) and accepts what it lost (they move to the
day of the resend), so the next 对账 of that day matches. Every comparison is stored in
``hub.push_reconciliation``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from connectors.provincial import ProvincialClient
from hub.push.gm import digest_lines
from hub.push.outbox import KINDS


def hub_side(conn: psycopg.Connection, kind: str, day: dt.date) -> tuple[int, str]:
    """Count and digest of what the hub holds as delivered (accepted on ``day``)."""
    rows = conn.execute(
        "SELECT record_key, version FROM hub.push_outbox WHERE kind = %s AND status = 'delivered' AND accepted_on = %s",
        (kind, day),
    ).fetchall()
    return len(rows), digest_lines(f"{k}:{v}" for k, v in rows)


def reconcile(
    uri: str, client: ProvincialClient, day: dt.date, kinds: tuple[str, ...] = KINDS, requeue: bool = True
) -> dict[str, dict[str, Any]]:
    """Compare one day per kind; re-queue the day's delivered rows where they differ.

    Returns:
        Per kind: ``matched`` and, when not, ``platform``/``hub`` counts and digests and ``requeued``.
    """
    out: dict[str, dict[str, Any]] = {}
    with psycopg.connect(uri) as conn:
        for kind in kinds:
            theirs = client.reconciliation(kind, day.isoformat())
            with conn.transaction():
                count, digest = hub_side(conn, kind, day)
                matched = theirs.get("accepted") == count and theirs.get("digest") == digest
                requeued = 0
                if not matched and requeue:
                    requeued = conn.execute(
                        "UPDATE hub.push_outbox SET status = 'pending', batch_id = NULL, batched_at = NULL, "
                        "result = NULL, updated_at = now() "
                        "WHERE kind = %s AND status = 'delivered' AND accepted_on = %s",
                        (kind, day),
                    ).rowcount
                conn.execute(
                    "INSERT INTO hub.push_reconciliation (kind, day, platform_count, platform_digest, hub_count,"
                    " hub_digest, matched, requeued) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (kind, day, theirs.get("accepted", -1), theirs.get("digest", ""), count, digest, matched, requeued),
                )
            entry: dict[str, Any] = {"day": day.isoformat(), "matched": matched}
            if not matched:
                entry |= {
                    "platform": {"accepted": theirs.get("accepted"), "digest": theirs.get("digest")},
                    "hub": {"accepted": count, "digest": digest},
                    "requeued": requeued,
                }
            out[kind] = entry
    return out
