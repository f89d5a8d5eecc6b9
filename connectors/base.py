"""The contract every source connector fulfils.

A connector reads a source incrementally: given the cursor committed after the last load
(``None`` for a full load) and optionally an upper bound (when a run is repeated, so that it
reads the same window again), it yields :class:`ExtractBatch` objects. The cursor is plain
JSON so the store can keep it in the same transaction as the load it covers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

Cursor = dict[str, Any]


class SourceError(RuntimeError):
    """A source delivered something the hub cannot read; the message names source and location."""


DEFECT_COLUMN = "_defect"
"""Optional column of a batch: for a row holding a value the connector could only coerce (a JSON number
where text is declared, bytes that are not UTF-8), ``<rule>|<field>``; null for a sound row. The
pipeline quarantines such rows under that rule with the mapping's record locator (the source's key)."""

REJECTED_SCHEMA = pa.schema(
    [
        ("record_ref", pa.string()),
        ("rule", pa.string()),
        ("field", pa.string()),
        ("message", pa.string()),
        ("raw", pa.string()),
        ("raw_bytes", pa.binary()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
    ]
)
"""Records a connector could not turn into a row at all (e.g. a CSV line cut short): where they were,
the rule, a message without any value in it, a readable JSON ``raw`` (valid UTF-8, no NUL) and the
exact bytes delivered."""


@dataclass(frozen=True)
class ExtractBatch:
    """One batch of raw records.

    Attributes:
        data: Raw records with the source's own column names.
        cursor: The cursor once this batch (and every one before it) is loaded.
        locator: Where the batch came from (table, page, file and lines), for error messages.
        rejected: Records of this stretch of the source that could not be parsed into ``data``
            (see :data:`REJECTED_SCHEMA`); they count as extracted and quarantined.
    """

    data: pa.Table
    cursor: Cursor
    locator: str
    rejected: pa.Table | None = None

    @property
    def records(self) -> int:
        """Records read from the source for this batch: rows plus rejected records."""
        return self.data.num_rows + (self.rejected.num_rows if self.rejected is not None else 0)


class Source(Protocol):
    """A readable source system."""

    name: str

    def read(self, cursor: Cursor | None, until: Cursor | None = None) -> Iterator[ExtractBatch]:
        """Yield the records after ``cursor`` and, when given, not after ``until``."""
        ...


def prefetched(batches: Iterator[ExtractBatch], depth: int = 2) -> Iterator[ExtractBatch]:
    """Read ``batches`` in a background thread, at most ``depth`` ahead of the consumer.

    Extraction (network, the driver, Arrow) releases the GIL, so on a machine with two cores
    the next batch is read while the current one is mapped, validated and staged. An error in
    the reader is raised in the consumer; a consumer that stops early stops the reader.
    """
    import queue
    import threading

    done = object()
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(done)
        except BaseException as err:  # handed to the consumer, which re-raises it
            put(err)

    thread = threading.Thread(target=reader, name="extract-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=30)
