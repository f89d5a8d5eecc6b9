"""COPY of Arrow tables on a background thread of a load transaction's connection."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class _Job:
    target: str
    rows: pa.Table
    db_schema: str | None


class BackgroundCopy:
    """COPYs Arrow tables on a thread, so the next batch is mapped while the server ingests.

    ADBC releases the GIL while it streams a COPY (a Python loop ran at full speed beside a
    1M-row COPY), so the COPY overlaps the mapping. The connection is not shared: every other
    statement of the transaction waits for :meth:`drain`. At most ``depth`` tables wait, which bounds the memory held.
    """

    def __init__(self, cursor: Any, depth: int = 2) -> None:
        self._cursor = cursor
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread: threading.Thread | None = None

    def put(self, target: str, rows: pa.Table, *, db_schema: str | None = None) -> None:
        """Queue ``rows`` for COPY into ``target`` (raises an earlier COPY's error).

        Args:
            target: The table; a temporary table of the session unless ``db_schema`` is given.
            rows: The rows, columns matched to the table's by name.
            db_schema: The schema of a regular (not temporary) target table.
        """
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="load-copy", daemon=True)
            self._thread.start()
        self._queue.put(_Job(target, rows, db_schema))

    def drain(self) -> None:
        """Wait until every queued table is copied; re-raise the first COPY error."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise()

    def cancel(self) -> None:
        """Drop whatever is still queued and wait for the COPY in progress (before a rollback)."""
        self._cancelled = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            if self._cancelled or self._error is not None:
                continue
            try:
                if job.db_schema is None:
                    self._cursor.adbc_ingest(job.target, job.rows, mode="append", temporary=True)
                else:
                    self._cursor.adbc_ingest(job.target, job.rows, mode="append", db_schema_name=job.db_schema)
            except BaseException as exc:  # re-raised in the loading thread by put() or drain()
                self._error = exc
