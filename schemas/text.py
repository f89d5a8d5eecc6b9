"""String hygiene for names and addresses: full-width to half-width, stray spaces, empties.

Real data is mostly clean, so the expensive Unicode work (NFKC, regular expressions) runs only
on the rows that need it. Which rows those are is found by one numpy pass over the UTF-8
bytes: ASCII white space, the full-width forms block (U+FF00-U+FF7F, bytes ``EF BC``/``EF BD``)
and the ideographic space (U+3000, ``E3 80 80``). Other compatibility characters are left as
they are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.arrowutil import as_string_array, scatter


def needs_cleaning(values: pa.StringArray) -> np.ndarray:
    """Rows containing white space, a full-width form or an ideographic space (nulls: false)."""
    n = len(values)
    _, offset_buffer, data_buffer = values.buffers()
    if n == 0 or data_buffer is None:
        return np.zeros(n, dtype=bool)
    offsets = np.frombuffer(offset_buffer, dtype=np.int32)[values.offset : values.offset + n + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    flag = (data == 0x20) | ((data >= 0x09) & (data <= 0x0D))
    if len(data) >= 2:
        flag[:-1] |= (data[:-1] == 0xEF) & ((data[1:] == 0xBC) | (data[1:] == 0xBD))
    if len(data) >= 3:
        flag[:-2] |= (data[:-2] == 0xE3) & (data[1:-1] == 0x80) & (data[2:] == 0x80)
    messy = np.zeros(n, dtype=bool)
    hits = np.flatnonzero(flag)  # few: real data is mostly clean
    if len(hits):
        messy[np.searchsorted(offsets[1:] - offsets[0], hits, side="right")] = True
    return messy


def _clean_where_needed(values: pa.Array | pa.ChunkedArray, clean: Callable[[pa.Array], pa.Array]) -> pa.StringArray:
    values = as_string_array(values)
    messy = needs_cleaning(values)
    if messy.any():
        values = scatter(values, messy, clean(values.filter(pa.array(messy))))
    return empty_to_null(values)


def _nfkc_single_spaces(values: pa.Array) -> pa.Array:
    values = pc.utf8_normalize(values, form="NFKC")
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(values, pattern=r"\s+", replacement=" "))


def _nfkc_no_spaces(values: pa.Array) -> pa.Array:
    values = pc.utf8_normalize(values, form="NFKC")
    return pc.replace_substring_regex(values, pattern=r"\s+", replacement="")


def clean_text(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Normalise free text: half-width, single spaces, trimmed; an empty result becomes null.

    NFKC turns full-width letters, digits and spaces into half-width ones.
    """
    return _clean_where_needed(values, _nfkc_single_spaces)


def clean_name(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Like :func:`clean_text`, but removes every space: a Chinese personal name contains none."""
    return _clean_where_needed(values, _nfkc_no_spaces)


def clean_code(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Trim a code value (ASCII) and turn an empty one into null."""
    return empty_to_null(pc.utf8_trim_whitespace(values))


def empty_to_null(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Replace empty strings with null."""
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
