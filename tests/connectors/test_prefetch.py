from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from connectors.base import ExtractBatch, prefetched


def _batches(n: int, fail_at: int | None = None, produced: list[int] | None = None):
    for i in range(n):
        if i == fail_at:
            raise RuntimeError(f"source x: page {i} failed")
        if produced is not None:
            produced.append(i)
        yield ExtractBatch(pa.table({"i": [i]}), {"value": i, "tiebreak": ""}, f"page {i}")


def test_prefetch_keeps_order_and_content() -> None:
    assert [b.cursor["value"] for b in prefetched(_batches(50))] == list(range(50))


def test_reader_errors_reach_the_consumer_after_the_good_batches() -> None:
    seen = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for b in prefetched(_batches(10, fail_at=3)):
            seen.append(b.cursor["value"])
    assert seen == [0, 1, 2]


def test_a_consumer_that_stops_early_stops_the_reader() -> None:
    produced: list[int] = []
    gen = prefetched(_batches(1000, produced=produced), depth=2)
    next(gen)
    gen.close()
    assert not any(t.name == "extract-prefetch" and t.is_alive() for t in threading.enumerate())
    assert len(produced) <= 5  # read at most depth ahead, not the whole source
