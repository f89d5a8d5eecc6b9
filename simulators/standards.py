"""Check characters and identity numbers as the simulators compute them, written from the standards.

The simulators generate the data the hub's own implementations (``schemas.standards.identity``,
``schemas.standards.uscc``) are tested against, so they must not share that code: an error in the hub's
algorithm would be reproduced in its test data and go unnoticed. This is a second
implementation from ``standards.md``, formulated differently on purpose: the weights are derived
the way the standards define them (GB 11643: 2^(17-i) mod 11; GB 32100: 3^i mod 31; GB 11714:
2^(8-i) mod 11) instead of copied as tables, the check value is the complement of the weighted
sum (``(12 - S mod 11) mod 11``, ``(31 - S mod 31) mod 31``, ``11 - S mod 11``), and dates are judged
by numpy's calendar. ``tests/simulators/test_standards.py`` holds it to the worked examples and
to python-stdnum.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

USCC_ALPHABET = b"0123456789ABCDEFGHJKLMNPQRTUWXY"
"""GB 32100 characters, valued 0-30 (no I, O, S, V, Z)."""
ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
ORG_WEIGHTS = np.array([pow(2, 8 - i, 11) for i in range(8)], dtype=np.int64)

_USCC_VALUE = np.zeros(256, dtype=np.int64)
_USCC_VALUE[np.frombuffer(USCC_ALPHABET, dtype=np.uint8)] = np.arange(31)
_ORG_VALUE = np.zeros(256, dtype=np.int64)
_ORG_VALUE[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10)
_ORG_VALUE[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)] = np.arange(10, 36)


def id_check_characters(body: np.ndarray) -> np.ndarray:
    """GB 11643-1999 check characters of ``(n, 17)`` ASCII-digit bodies, as ASCII bytes (``X`` for 10)."""
    value = (12 - (body.astype(np.int64) - ord("0")) @ ID_WEIGHTS % 11) % 11
    return np.where(value == 10, ord("X"), ord("0") + value).astype(np.uint8)


def uscc_check_characters(body: np.ndarray) -> np.ndarray:
    """GB 32100-2015 check characters of ``(n, 17)`` bodies in the USCC alphabet, as ASCII bytes."""
    value = (31 - _USCC_VALUE[body] @ USCC_WEIGHTS % 31) % 31
    return np.frombuffer(USCC_ALPHABET, dtype=np.uint8)[value]


def org_check_characters(body: np.ndarray) -> np.ndarray:
    """GB 11714 check characters of ``(n, 8)`` organisation-code bodies (0-9, A-Z), as ASCII bytes."""
    value = 11 - _ORG_VALUE[body] @ ORG_WEIGHTS % 11
    return np.select([value == 10, value == 11], [ord("X"), ord("0")], ord("0") + value).astype(np.uint8)


def as_strings(matrix: np.ndarray) -> pa.StringArray:
    """The rows of an ``(n, width)`` matrix of ASCII bytes as strings."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(matrix, dtype=np.uint8)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def as_matrix(values: pa.Array, width: int) -> np.ndarray:
    """Strings of exactly ``width`` ASCII characters each (no nulls) as an ``(n, width)`` matrix (a copy)."""
    if len(values) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    values = pa.concat_arrays([values.cast(pa.string())])  # offset 0, own buffers
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[: len(values) + 1]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    if len(data) != width * len(values):
        raise ValueError(f"values are not all {width} ASCII characters")
    return data.reshape(len(values), width).copy()


def resident_ids(values: pa.Array | pa.ChunkedArray, today: dt.date) -> tuple[pa.StringArray, np.ndarray, np.ndarray]:
    """Identity numbers as a department holds them, made standard, with their birth dates and validity.

    Spaces go, full-width characters become half-width (NFKC), a lower-case ``x`` becomes ``X``,
    and a legacy 15-digit number gets ``19`` before its year and a check character (GB 11643-1989
    to -1999).

    Returns:
        The numbers, their birth dates (``datetime64[D]``, 1970-01-01 where not valid) and
        whether each is valid: 17 digits and the right check character, a real birth date not
        after ``today``.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = pc.utf8_normalize(values.cast(pa.string()), form="NFKC")
    values = pc.utf8_upper(pc.replace_substring_regex(values, pattern=r"\s+", replacement=""))
    legacy = pc.fill_null(pc.match_substring_regex(values, r"^[0-9]{15}$"), False)
    if pc.any(legacy).as_py():
        short = values.filter(legacy)
        body = as_matrix(
            pc.binary_join_element_wise(
                pc.utf8_slice_codeunits(short, 0, 6), pc.utf8_slice_codeunits(short, 6, 15), "19"
            ),
            17,
        )
        values = pc.replace_with_mask(values, legacy, as_strings(np.c_[body, id_check_characters(body)]))
    n = len(values)
    shaped = pc.fill_null(pc.match_substring_regex(values, r"^[0-9]{17}[0-9X]$"), False).to_numpy(zero_copy_only=False)
    matrix = np.full((n, 18), ord("0"), dtype=np.uint8)
    matrix[shaped] = as_matrix(values.filter(pa.array(shaped)), 18)
    checked = shaped & (id_check_characters(matrix[:, :17]) == matrix[:, 17])
    digits = matrix[:, 6:14].astype(np.int64) - ord("0")
    year = digits[:, :4] @ np.array([1000, 100, 10, 1])
    month = digits[:, 4:6] @ np.array([10, 1])
    day = digits[:, 6:8] @ np.array([10, 1])
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    birth = months.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
    # numpy's calendar decides what is a day: a day past the month's end lands in the next month
    real = (month >= 1) & (month <= 12) & (day >= 1) & (birth.astype("datetime64[M]") == months)
    valid = checked & real & (birth <= np.datetime64(today))
    return values, np.where(valid, birth, np.datetime64("1970-01-01", "D")), valid
