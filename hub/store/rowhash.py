"""Row digests of Arrow tables, computed over the Arrow buffers with numpy (``record_hash``).

A row's digest labels the version of a record: it is written with every inserted or changed
row and shown to the departments (objections name the version they dispute). It is not what
decides whether a row changed: the MERGE compares the typed columns.

The digest of a row is a function of its values only, never of the batch it arrived in:

1. the columns are rendered as text and joined with ``0x1F`` (a null becomes ``0x00``, which
   PostgreSQL text can never hold);
2. the bytes ``b_0 … b_{n-1}`` of that text give ``h = Σ b_i · P^(n-1-i) mod 2^64``;
3. ``h`` is mixed with the length and finalised with splitmix64, and written as 16 hex digits.

Step 2 runs over a whole buffer at once: each byte is weighted by a power of ``P`` counted from
the end of its chunk, per-row sums come from one ``add.reduceat``, and each sum is brought back
to the row's own end with the inverse power (``P`` is odd, so it is invertible modulo 2^64).
numpy releases the GIL while it runs (the cost per million rows: README, "Measurements behind design choices").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

P = 0x100000001B3  # the 64-bit FNV prime: odd, so invertible modulo 2^64
CHUNK_BYTES = 1 << 20
SEPARATOR = "\x1f"
NULL = "\x00"
_MASK = (1 << 64) - 1
_HEX = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), np.uint8).reshape(256, 2)


def _powers(base: int, n: int) -> np.ndarray:
    out = np.empty(n + 1, np.uint64)
    out[0] = 1
    out[1:] = np.uint64(base)
    return np.cumprod(out, dtype=np.uint64)


_POW = _powers(P, CHUNK_BYTES)
_INV_POW = _powers(pow(P, -1, 1 << 64), CHUNK_BYTES + 1)


def row_text(table: pa.Table, columns: Sequence[str]) -> pa.Array:
    """Each row's ``columns`` as one text: values as Arrow renders them, ``0x1F`` between, ``0x00`` for null."""
    parts = [pc.cast(table[c], pa.string()) for c in columns]
    joined = pc.binary_join_element_wise(*parts, SEPARATOR, null_handling="replace", null_replacement=NULL)
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def polynomial_hashes(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``Σ b_i · P^(n-1-i) mod 2^64`` of every string in ``text``, and the strings' byte lengths."""
    text = pc.cast(text, pa.large_string())
    n = len(text)
    offsets = np.frombuffer(text.buffers()[1], np.int64, n + 1, text.offset * 8)
    data_buffer = text.buffers()[2]
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    out = np.zeros(n, np.uint64)
    first = 0
    while first < n:
        # rows [first, last) whose bytes fit one chunk (a longer single row gets its own chunk)
        last = int(np.searchsorted(offsets, offsets[first] + CHUNK_BYTES, side="right")) - 1
        last = max(last, first + 1)
        begin, end = int(offsets[first]), int(offsets[last])
        if end - begin > CHUNK_BYTES:
            raise ValueError(f"a row of {end - begin} bytes is longer than the hash chunk ({CHUNK_BYTES} bytes)")
        if end > begin:
            size = end - begin
            weighted = data[begin:end].astype(np.uint64)
            weighted *= _POW[size:0:-1]  # byte k of the chunk weighs P^(size - k)
            rows = np.arange(first, last)
            filled = rows[lengths[first:last] > 0]
            sums = np.add.reduceat(weighted, offsets[filled] - begin)
            # sum_row = P^(size - row_end + 1) · h_row, so h_row = sum_row · P^-(size - row_end + 1)
            out[filled] = sums * _INV_POW[size - (offsets[filled + 1] - begin) + 1]
        first = last
    return out, lengths


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hex(values: np.ndarray) -> pa.Array:
    digits = _HEX[values.astype(">u8").view(np.uint8).reshape(-1, 8)].reshape(-1)
    offsets = np.arange(0, 16 * len(values) + 1, 16, dtype=np.int32)
    return pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(digits))


def row_hashes(table: pa.Table, columns: Sequence[str]) -> pa.Array:
    """The digest (16 hex digits) of every row of ``table`` over ``columns``.

    Args:
        table: The rows.
        columns: The columns the digest covers, in a fixed order.

    Returns:
        A string array, one digest per row.
    """
    with np.errstate(over="ignore"):
        h, lengths = polynomial_hashes(row_text(table, columns))
        return _hex(_splitmix64(h ^ (lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))))


def key_hashes(table: pa.Table, columns: Sequence[str]) -> np.ndarray:
    """A 64-bit hash of every row's ``columns`` (equal keys, equal hashes), for duplicate checks."""
    with np.errstate(over="ignore"):
        h, lengths = polynomial_hashes(row_text(table, columns))
        return _splitmix64(h ^ lengths.astype(np.uint64))


def reference_hash(text: bytes) -> str:
    """The digest of one row's text, computed plainly in Python (the definition the tests check against)."""
    h = 0
    for b in text:
        h = (h * P + b) & _MASK
    x = (h ^ (len(text) * 0x9E3779B97F4A7C15)) & _MASK
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return f"{x ^ (x >> 31):016x}"
