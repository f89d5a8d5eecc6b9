"""Group commit of audit records: many requests' records appended in one transaction, each caller waiting for it.

Appending one record takes the chain's lock, reads its head, inserts and commits; the lock is held
through the commit's WAL flush, so one record at a time caps every audited call of the whole
store at one flush each. Here one thread per process appends whatever records have queued while
the previous batch committed (:func:`hub.access.audit.append_many`), and :meth:`AuditWriter.write`
returns only once its record is committed: a read is never released before its audit record is
durable, and a failed append fails every request of its batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

import psycopg

from hub.access.audit import AuditEvent, append_many

MAX_BATCH = 500


class AuditWriter:
    """One writer thread (started on first use) appending queued records in batches on its own connection."""

    def __init__(self, connect: Callable[[], psycopg.Connection], max_batch: int = MAX_BATCH) -> None:
        self._connect = connect
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[AuditEvent, Future[int]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def write(self, ev: AuditEvent) -> int:
        """Append ``ev`` and wait until it is committed; returns its seq.

        Raises:
            psycopg.Error: the batch holding ``ev`` could not be appended (nothing of it was).
            RuntimeError: the writer is closed.
        """
        done: Future[int] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the audit writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
            self._queue.put((ev, done))
        return done.result()

    def close(self) -> None:
        """Append what is queued, then stop the thread and close its connection."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        conn: psycopg.Connection | None = None
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                seqs = append_many(conn, [ev for ev, _ in batch])
            except BaseException as err:  # handed to every waiting caller, which fails its request
                for _, done in batch:
                    done.set_exception(err)
                if conn is not None:
                    conn.close()
                conn = None
                continue
            for (_, done), seq in zip(batch, seqs, strict=True):
                done.set_result(seq)
        if conn is not None:
            conn.close()
