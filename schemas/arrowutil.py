"""Small helpers for treating Arrow string columns as fixed-width byte matrices."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def as_string_array(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Return ``values`` as one contiguous ``string`` array (chunks combined, large strings narrowed)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if values.type != pa.string():
        values = values.cast(pa.string())
    return values


def byte_lengths(values: pa.StringArray) -> np.ndarray:
    """Byte length of every value as int32; nulls count as length -1."""
    return pc.fill_null(pc.binary_length(values), -1).to_numpy(zero_copy_only=False)


def fixed_width_matrix(values: pa.StringArray, width: int) -> np.ndarray:
    """View strings that all have ``width`` bytes as a ``(n, width)`` uint8 matrix.

    Args:
        values: A string array whose non-null values all have exactly ``width`` bytes and
            that has no nulls.
        width: The common byte width.

    Returns:
        A read-only matrix over the array's data buffer (no copy).
    """
    if len(values) == 0:
        return np.empty((0, width), dtype=np.uint8)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    start, end = int(offsets[0]), int(offsets[-1])
    if end - start != width * len(values):
        raise ValueError(f"values are not all {width} bytes wide")
    return data[start:end].reshape(len(values), width)


def matrix_to_strings(matrix: np.ndarray) -> pa.StringArray:
    """Build a string array from a ``(n, width)`` uint8 matrix of ASCII bytes."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(matrix, dtype=np.uint8)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def scatter(values: pa.StringArray, mask: np.ndarray, replacements: pa.StringArray) -> pa.StringArray:
    """Replace the values where ``mask`` is true with ``replacements``, in order."""
    if not mask.any():
        return values
    return pc.replace_with_mask(values, pa.array(mask), replacements)
