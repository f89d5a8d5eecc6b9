"""A small thread-safe pool of autocommit psycopg connections for the API's worker threads."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from hub.store.connection import connect


class Pool:
    """Up to ``size`` idle connections kept for reuse; broken ones are dropped."""

    def __init__(self, uri: str, size: int = 8) -> None:
        self.uri = uri
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue(maxsize=size)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """Borrow a connection (autocommit; use ``conn.transaction()`` for atomic work)."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = connect(self.uri, autocommit=True)
        try:
            yield conn
        finally:
            if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.close()
            else:
                try:
                    self._idle.put_nowait(conn)
                except queue.Full:
                    conn.close()

    def close(self) -> None:
        """Close every idle connection."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
