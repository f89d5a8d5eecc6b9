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


@dataclass(frozen=True)
class ExtractBatch:
    """One batch of raw records.

    Attributes:
        data: Raw records with the source's own column names.
        cursor: The cursor once this batch (and every one before it) is loaded.
        locator: Where the batch came from (table, page, file and lines), for error messages.
    """

    data: pa.Table
    cursor: Cursor
    locator: str


class Source(Protocol):
    """A readable source system."""

    name: str

    def read(self, cursor: Cursor | None, until: Cursor | None = None) -> Iterator[ExtractBatch]:
        """Yield the records after ``cursor`` and, when given, not after ``until``."""
        ...
