"""Deliver the outbox to the provincial platform exactly once.

1. **Form batches** (short transactions): pending rows without a batch are claimed with
   ``FOR UPDATE SKIP LOCKED`` and given a new ``batch_id`` (at most 500 records and 4.5 MiB).
   The batch is committed *before* it is sent, so a resend after an unknown outcome or a crash
   carries the same ``batch_id`` and the same records.
2. **Send a batch** inside one transaction that holds the batch (an advisory lock on its id
   plus its rows ``FOR UPDATE``), so two runs never send the same rows at once. The per-record
   results are written in that transaction: ``ACCEPTED``/``DUPLICATE`` = delivered,
   ``REJECTED`` = parked with its code and message. A crash between sending and committing
   rolls back to "pending in batch b": the resend is answered ``DUPLICATE``, nothing is lost.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from connectors.provincial import BatchRefusedError, OutcomeUnknownError, ProvincialClient

KINDS = ("certificates", "cases")
MAX_RECORDS = 500
MAX_BYTES = 4_500_000  # under the platform's 5 MiB with room for the envelope
TODAY_SHANGHAI = "(now() AT TIME ZONE 'Asia/Shanghai')::date"


@dataclass
class PushReport:
    """What one push did, per kind."""

    counts: dict[str, Counter[str]] = field(default_factory=lambda: {k: Counter() for k in KINDS})
    unresolved: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Counts per kind (``sent``, ``accepted``, ``duplicate``, ``rejected``, ``batches``)."""
        return {k: dict(c) for k, c in self.counts.items()}


def form_batches(conn: psycopg.Connection, kind: str, limit: int = MAX_RECORDS) -> list[str]:
    """Give every unbatched pending row of ``kind`` a batch; return the new batch ids."""
    formed = []
    while True:
        with conn.transaction():
            rows = conn.execute(
                "SELECT id, octet_length(payload::text) FROM hub.push_outbox "
                "WHERE kind = %s AND status = 'pending' AND batch_id IS NULL "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (kind, limit),
            ).fetchall()
            if not rows:
                return formed
            ids, size = [], 0
            for row_id, length in rows:
                if ids and size + length > MAX_BYTES:
                    break
                ids.append(row_id)
                size += length
            batch_id = f"{kind}-{uuid.uuid4().hex}"
            conn.execute(
                "UPDATE hub.push_outbox SET batch_id = %s, batched_at = now(), updated_at = now() WHERE id = ANY(%s)",
                (batch_id, ids),
            )
            formed.append(batch_id)


def _open_batches(conn: psycopg.Connection, kind: str) -> list[str]:
    with conn.transaction():
        return [
            r[0]
            for r in conn.execute(
                "SELECT batch_id FROM hub.push_outbox WHERE kind = %s AND status = 'pending' AND batch_id IS NOT NULL "
                "GROUP BY batch_id ORDER BY min(id)",
                (kind,),
            )
        ]


def send_batch(conn: psycopg.Connection, client: ProvincialClient, kind: str, batch_id: str) -> Counter[str] | None:
    """Send one formed batch and record its results; ``None`` if another run holds it.

    Raises:
        AuthFailedError: on 401 (nothing recorded, the batch stays pending).
        OutcomeUnknownError: when the client's retries ran out (the batch stays pending).
    """
    from hub import faults

    counts: Counter[str] = Counter()
    with conn.transaction():
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (batch_id,)).fetchone()[0]
        if not locked:
            return None
        rows = conn.execute(
            "SELECT id, record_key, version, payload FROM hub.push_outbox "
            "WHERE batch_id = %s AND status = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED",
            (batch_id,),
        ).fetchall()
        if not rows:
            return counts
        try:
            results = client.send_batch(kind, batch_id, [r[3] for r in rows])
        except BatchRefusedError as exc:
            conn.execute(
                "UPDATE hub.push_outbox SET status = 'parked', result = 'REJECTED', code = %s, message = %s, "
                "attempts = attempts + 1, updated_at = now() WHERE batch_id = %s AND status = 'pending'",
                (exc.code, exc.message, batch_id),
            )
            conn.execute(
                "INSERT INTO hub.push_attempt (kind, batch_id, records, rejected, outcome) VALUES (%s, %s, %s, %s, "
                "'refused')",
                (kind, batch_id, len(rows), len(rows)),
            )
            counts.update(sent=len(rows), rejected=len(rows), batches=1)
            return counts
        faults.checkpoint("push.after_send")
        updates = []
        for (row_id, key, version, _), res in zip(rows, results, strict=True):
            if res.get("key") != key or res.get("version") != version:
                raise OutcomeUnknownError(f"batch {batch_id}: platform results are not in the order sent")
            status = res.get("status")
            if status not in ("ACCEPTED", "DUPLICATE", "REJECTED"):
                raise OutcomeUnknownError(f"batch {batch_id}: unknown result status {status!r}")
            counts[status.lower()] += 1
            updates.append((status, res.get("code"), res.get("message"), row_id))
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE hub.push_outbox SET "
                "status = CASE WHEN %(s)s = 'REJECTED' THEN 'parked' ELSE 'delivered' END, result = %(s)s, "
                "code = %(c)s, message = %(m)s, attempts = attempts + 1, updated_at = now(), "
                "delivered_at = CASE WHEN %(s)s = 'REJECTED' THEN NULL ELSE now() END, "
                f"accepted_on = CASE WHEN %(s)s = 'ACCEPTED' THEN {TODAY_SHANGHAI} "
                "WHEN %(s)s = 'DUPLICATE' THEN coalesce(accepted_on, (batched_at AT TIME ZONE 'Asia/Shanghai')::date) "
                "ELSE accepted_on END WHERE id = %(id)s",
                [{"s": s, "c": c, "m": m, "id": i} for s, c, m, i in updates],
            )
        conn.execute(
            "INSERT INTO hub.push_attempt (kind, batch_id, records, accepted, duplicate, rejected, outcome) "
            "VALUES (%s, %s, %s, %s, %s, %s, 'answered')",
            (kind, batch_id, len(rows), counts["accepted"], counts["duplicate"], counts["rejected"]),
        )
        counts.update(sent=len(rows), batches=1)
    return counts


def push(
    uri: str,
    client: ProvincialClient,
    kinds: tuple[str, ...] = KINDS,
    max_batches: int | None = None,
    batch_size: int = MAX_RECORDS,
) -> PushReport:
    """Form and send every pending batch of ``kinds``; batches of an unknown outcome stay pending.

    Args:
        uri: The shared store.
        client: The platform client (paced, retrying).
        kinds: Which kinds to push.
        max_batches: Stop after sending this many batches (``None``: until nothing is pending).
        batch_size: Records per new batch (at most 500, the platform's limit).

    Raises:
        AuthFailedError: on 401; nothing more is sent.
    """
    report = PushReport()
    sent = 0
    with psycopg.connect(uri) as conn:
        for kind in kinds:
            form_batches(conn, kind, min(batch_size, MAX_RECORDS))
            for batch_id in _open_batches(conn, kind):
                if max_batches is not None and sent >= max_batches:
                    return report
                try:
                    counts = send_batch(conn, client, kind, batch_id)
                except OutcomeUnknownError as exc:
                    report.unresolved.append(f"{batch_id}: {exc}")
                    continue
                if counts is not None:
                    report.counts[kind].update(counts)
                    sent += 1
    return report


def outbox_counts(uri: str) -> dict[str, dict[str, int]]:
    """Rows per kind and status (``pending``, ``delivered``, ``parked``)."""
    out: dict[str, dict[str, int]] = {k: {"pending": 0, "delivered": 0, "parked": 0} for k in KINDS}
    with psycopg.connect(uri) as conn:
        for kind, status, n in conn.execute("SELECT kind, status, count(*) FROM hub.push_outbox GROUP BY 1, 2"):
            out[kind][status] = n
    return out


def retry_parked(uri: str, kind: str | None = None, code: str | None = None, resign: Any = None) -> int:
    """Put parked rows back to pending (``hub push retry``) after the cause was fixed.

    Args:
        uri: The shared store.
        kind: Only this kind (default all).
        code: Only rows parked with this code (default all).
        resign: A signer: certificates are signed again with it (after a key was fixed).

    Returns:
        How many rows were re-queued.
    """
    from psycopg.types.json import Jsonb

    from hub.push.gm import canonical_json

    where = "status = 'parked'" + (" AND kind = %(kind)s" if kind else "") + (" AND code = %(code)s" if code else "")
    params = {"kind": kind, "code": code}
    with psycopg.connect(uri) as conn, conn.transaction():
        if resign is not None:
            rows = conn.execute(
                f"SELECT id, payload FROM hub.push_outbox WHERE {where} AND kind = 'certificates' FOR UPDATE", params
            ).fetchall()
            for row_id, payload in rows:
                payload.pop("signature", None)
                payload["signature"] = resign.sign(canonical_json(payload))
                conn.execute("UPDATE hub.push_outbox SET payload = %s WHERE id = %s", (Jsonb(payload), row_id))
                conn.execute(
                    "UPDATE shared.e_certificate SET signature = %s WHERE certificate_id = %s",
                    (payload["signature"], payload["certificate_id"]),
                )
        return conn.execute(
            "UPDATE hub.push_outbox SET status = 'pending', batch_id = NULL, batched_at = NULL, result = NULL, "
            f"updated_at = now() WHERE {where}",
            params,
        ).rowcount
