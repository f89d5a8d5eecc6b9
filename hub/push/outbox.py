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

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from hub import faults
from hub.push.gm import canonical_json
from hub.push.provincial_client import BatchRefusedError, OutcomeUnknownError, ProvincialClient
from hub.store.connection import connect

KINDS = ("certificates", "cases")
MAX_RECORDS = 500
MAX_BYTES = 4_500_000  # under the platform's 5 MiB with room for the envelope
FORM_CHUNK = 50_000  # rows claimed per batch-forming transaction (after a first, small one)
TODAY_SHANGHAI = "(now() AT TIME ZONE 'Asia/Shanghai')::date"  # the transaction's start: before the POST
ANSWERED_SHANGHAI = "(clock_timestamp() AT TIME ZONE 'Asia/Shanghai')::date"  # after the answer
BATCHED_ON = "(o.batched_at AT TIME ZONE 'Asia/Shanghai')::date"


def _days(first: str, last: str) -> str:
    """SQL for the array of dates from ``first`` to ``last``."""
    return f"ARRAY(SELECT ({first}) + i FROM generate_series(0, ({last}) - ({first})) AS i)"


# The day a delivered record is booked on (accepted_on) and, when the answer leaves it open, the days
# it may be (accepted_days), settled later by the 对账 from the platform's figures (hub.push.reconcile):
# - ACCEPTED: stored by this request, counted on the day of the answer -- or, for a request that spanned
#   midnight, on either day;
# - DUPLICATE of a record the hub never saw ACCEPTED: stored by an earlier send whose reply was lost, on a
#   day between the batch's forming and now, by the platform's clock, which decides the day and may differ
#   from ours: a day either side as well. It is booked on the day the batch was formed until the 对账 knows;
# - DUPLICATE of a record already booked: it keeps its day.
BOOKED_ACCEPTED = "%(answered)s::date"
OPEN_ACCEPTED = f"CASE WHEN %(sent)s <> %(answered)s THEN {_days('%(sent)s::date', '%(answered)s::date')} END"
OPEN_DUPLICATE = _days(f"{BATCHED_ON} - 1", "%(answered)s::date + 1")


@dataclass
class PushReport:
    """What one push did, per kind."""

    counts: dict[str, Counter[str]] = field(default_factory=lambda: {k: Counter() for k in KINDS})
    unresolved: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Counts per kind (``sent``, ``accepted``, ``duplicate``, ``rejected``, ``batches``)."""
        return {k: dict(c) for k, c in self.counts.items()}


def form_batches(conn: psycopg.Connection, kind: str, limit: int = MAX_RECORDS) -> Iterator[list[Batch]]:
    """Give every unbatched pending row of ``kind`` a batch, a chunk of rows per transaction.

    Rows are claimed in id order (``FOR UPDATE SKIP LOCKED``), packed into batches of at most
    ``limit`` records and :data:`MAX_BYTES`, and labelled with one UPDATE per chunk. The first
    chunk is four batches and each next one five times larger (up to :data:`FORM_CHUNK` rows), so
    sending starts at once and the senders are not left waiting while a large chunk is formed.

    Yields:
        Each committed chunk's new batches, in order, with their record keys.
    """
    chunk = limit * 4
    while True:
        with conn.transaction():
            rows = conn.execute(
                "SELECT id, record_key, octet_length(payload::text) FROM hub.push_outbox "
                "WHERE kind = %s AND status = 'pending' AND batch_id IS NULL "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (kind, chunk),
            ).fetchall()
            if not rows:
                return
            formed: list[Batch] = []
            ids, labels = [], []
            count = size = 0
            for row_id, key, length in rows:
                if not formed or count == limit or size + length > MAX_BYTES:
                    formed.append(Batch(f"{kind}-{uuid.uuid4().hex}", []))
                    count = size = 0
                formed[-1].keys.append(key)
                ids.append(row_id)
                labels.append(formed[-1].batch_id)
                count += 1
                size += length
            conn.execute(
                "UPDATE hub.push_outbox o SET batch_id = b.batch_id, batched_at = now(), updated_at = now() "
                "FROM unnest(%s::bigint[], %s::text[]) AS b(id, batch_id) WHERE o.id = b.id",
                (ids, labels),
            )
        yield formed
        if len(rows) < chunk:
            return
        chunk = min(chunk * 5, FORM_CHUNK)  # grow, so the senders never wait long for the next chunk


def _open_batches(conn: psycopg.Connection, kind: str) -> list[Batch]:
    """Formed, still pending batches of ``kind`` in the order they were formed, with their record keys."""
    with conn.transaction():
        return [
            Batch(r[0], r[1])
            for r in conn.execute(
                "SELECT batch_id, array_agg(record_key) FROM hub.push_outbox "
                "WHERE kind = %s AND status = 'pending' AND batch_id IS NOT NULL "
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
    counts: Counter[str] = Counter()
    with conn.transaction():
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (batch_id,)).fetchone()[0]
        if not locked:
            return None
        rows = conn.execute(
            "SELECT id, record_key, version, payload::text FROM hub.push_outbox "
            "WHERE batch_id = %s AND status = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED",
            (batch_id,),
        ).fetchall()
        if not rows:
            return counts
        try:  # the payloads as PostgreSQL writes jsonb: sent as they are, never decoded and encoded again
            results = client.send_encoded(kind, batch_id, [r[3] for r in rows])
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
        statuses, codes, messages, ids = (list(column) for column in zip(*updates, strict=True))
        sent_on, answered_on = conn.execute(f"SELECT {TODAY_SHANGHAI}, {ANSWERED_SHANGHAI}").fetchone()
        conn.execute(  # one statement for the whole batch: 500 single-row UPDATEs cost more than the POST
            "UPDATE hub.push_outbox o SET "
            "status = CASE WHEN r.s = 'REJECTED' THEN 'parked' ELSE 'delivered' END, result = r.s, "
            "code = r.c, message = r.m, attempts = o.attempts + 1, updated_at = now(), "
            "delivered_at = CASE WHEN r.s = 'REJECTED' THEN NULL ELSE now() END, "
            f"accepted_on = CASE WHEN r.s = 'ACCEPTED' THEN {BOOKED_ACCEPTED} WHEN r.s = 'DUPLICATE' "
            f"THEN coalesce(o.accepted_on, {BATCHED_ON}) ELSE o.accepted_on END, "
            f"accepted_days = CASE WHEN r.s = 'ACCEPTED' THEN {OPEN_ACCEPTED} "
            f"WHEN r.s = 'DUPLICATE' AND o.accepted_on IS NULL THEN {OPEN_DUPLICATE} ELSE o.accepted_days END, "
            "accepted_group = CASE WHEN r.s = 'ACCEPTED' THEN CASE WHEN %(sent)s <> %(answered)s THEN o.batch_id END "
            "WHEN r.s = 'DUPLICATE' AND o.accepted_on IS NULL THEN o.batch_id ELSE o.accepted_group END "
            "FROM unnest(%(s)s::text[], %(c)s::text[], %(m)s::text[], %(id)s::bigint[]) AS r(s, c, m, id) "
            "WHERE o.id = r.id",
            {"s": statuses, "c": codes, "m": messages, "id": ids, "sent": sent_on, "answered": answered_on},
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
    concurrency: int | None = None,
) -> PushReport:
    """Form and send every pending batch of ``kinds``; batches of an unknown outcome stay pending.

    Batches go out ``concurrency`` at a time (default: the client's setting), each sender with
    its own store connection, all paced by the client's one token bucket. A batch waits for
    every earlier batch that carries one of its keys, so a key's versions still reach the
    platform in order (a later version first would make the earlier one ``STALE_VERSION``).

    Args:
        uri: The shared store.
        client: The platform client (paced, retrying).
        kinds: Which kinds to push.
        max_batches: Stop after sending this many batches (``None``: until nothing is pending).
        batch_size: Records per new batch (at most 500, the platform's limit).
        concurrency: Batches in flight at once.

    Raises:
        AuthFailedError: on 401; nothing more is sent.
    """
    report = PushReport()
    workers = max(1, concurrency if concurrency is not None else client.settings.concurrency)
    budget = max_batches
    for kind in kinds:
        sender = _BatchSender(uri, client, kind, report, budget)
        with connect(uri) as conn:
            sender.add(_open_batches(conn, kind))  # formed by an earlier run: they go first
            sender.start(workers)
            try:
                for formed in form_batches(conn, kind, min(batch_size, MAX_RECORDS)):
                    sender.add(formed)
                    if sender.stopped:
                        break
            finally:
                sent = sender.join()
        if budget is not None:
            budget -= sent
    return report


@dataclass(frozen=True)
class Batch:
    """A formed batch: its id and the record keys in it."""

    batch_id: str
    keys: list[str]


class _BatchSender:
    """Sends one kind's batches from several threads, a batch only after the batches it depends on.

    Batches are added in the order they were formed, possibly while earlier ones are being sent.
    """

    def __init__(
        self, uri: str, client: ProvincialClient, kind: str, report: PushReport, max_batches: int | None
    ) -> None:
        self.uri, self.client, self.kind, self.report = uri, client, kind, report
        self.max_batches = max_batches
        self.waiting: list[str] = []
        self.after: dict[str, set[str]] = {}
        self._last_with_key: dict[str, str] = {}
        self.settled: set[str] = set()
        self.unsettled: set[str] = set()
        self.in_flight = self.handed_out = self.sent = 0
        self.input_done = False
        self.error: BaseException | None = None
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []

    @property
    def stopped(self) -> bool:
        """Whether sending stopped early (an error, or ``max_batches`` reached)."""
        with self._cond:
            return self.error is not None or self._budget_spent()

    def add(self, batches: list[Batch]) -> None:
        """Queue batches (in formation order) behind the batches already queued."""
        with self._cond:
            for batch in batches:
                self.after[batch.batch_id] = {self._last_with_key[k] for k in batch.keys if k in self._last_with_key}
                self._last_with_key.update((k, batch.batch_id) for k in batch.keys)
                self.waiting.append(batch.batch_id)
            self._cond.notify_all()

    def start(self, workers: int) -> None:
        """Start ``workers`` sender threads."""
        self._threads = [threading.Thread(target=self._work, name=f"push-{self.kind}-{i}") for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def join(self) -> int:
        """Mark the input complete, wait for the senders; return how many batches were sent.

        Raises:
            BaseException: the first error of any sender thread.
        """
        with self._cond:
            self.input_done = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()
        if self.error is not None:
            raise self.error
        return self.sent

    def _budget_spent(self) -> bool:
        return self.max_batches is not None and self.handed_out >= self.max_batches

    def _next(self) -> str | None:
        """The next batch whose predecessors are settled (called with the condition held)."""
        while self.error is None and not self._budget_spent():
            for batch_id in list(self.waiting):
                blocked_by = self.after[batch_id] & self.unsettled
                if blocked_by:  # its predecessor's outcome is unknown: sending it now could overtake it
                    self.waiting.remove(batch_id)
                    self.unsettled.add(batch_id)
                    self.report.unresolved.append(f"{batch_id}: waits for batch {min(blocked_by)}")
                elif self.after[batch_id] <= self.settled:
                    self.waiting.remove(batch_id)
                    self.in_flight += 1
                    self.handed_out += 1
                    return batch_id
            if self.input_done and (not self.waiting or not self.in_flight):
                return None
            self._cond.wait()
        return None

    def _work(self) -> None:
        try:
            with connect(self.uri) as conn:
                while True:
                    with self._cond:
                        batch_id = self._next()
                    if batch_id is None:
                        return
                    self._send(conn, batch_id)
        except BaseException as exc:  # handed to the caller's thread by run()
            with self._cond:
                self.error = self.error or exc
                self._cond.notify_all()

    def _send(self, conn: psycopg.Connection, batch_id: str) -> None:
        counts: Counter[str] | None = None
        failure: str | None = None
        try:
            counts = send_batch(conn, self.client, self.kind, batch_id)
        except OutcomeUnknownError as exc:
            failure = f"{batch_id}: {exc}"
        finally:
            with self._cond:
                self.in_flight -= 1
                if counts is not None:
                    self.settled.add(batch_id)
                    self.report.counts[self.kind].update(counts)
                    self.sent += 1
                else:  # unknown outcome, or another run holds the batch
                    self.unsettled.add(batch_id)
                if failure:
                    self.report.unresolved.append(failure)
                self._cond.notify_all()


def outbox_counts(uri: str) -> dict[str, dict[str, int]]:
    """Rows per kind and status (``pending``, ``delivered``, ``parked``)."""
    out: dict[str, dict[str, int]] = {k: {"pending": 0, "delivered": 0, "parked": 0} for k in KINDS}
    with connect(uri) as conn:
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

    where = "status = 'parked'" + (" AND kind = %(kind)s" if kind else "") + (" AND code = %(code)s" if code else "")
    params = {"kind": kind, "code": code}
    with connect(uri) as conn, conn.transaction():
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
