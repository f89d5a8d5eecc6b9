"""String hygiene for names and addresses: full-width to half-width, stray spaces, empties."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from quality.arrowutil import as_string_array


def clean_text(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Normalise free text: half-width, single spaces, trimmed; an empty result becomes null.

    NFKC turns full-width letters, digits and spaces into half-width ones.
    """
    values = pc.utf8_normalize(as_string_array(values), form="NFKC")
    values = pc.utf8_trim_whitespace(pc.replace_substring_regex(values, pattern=r"\s+", replacement=" "))
    return empty_to_null(values)


def clean_name(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Like :func:`clean_text`, but removes every space: a Chinese personal name contains none."""
    values = pc.utf8_normalize(as_string_array(values), form="NFKC")
    return empty_to_null(pc.replace_substring_regex(values, pattern=r"\s+", replacement=""))


def clean_code(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Trim a code value (ASCII) and turn an empty one into null."""
    return empty_to_null(pc.utf8_trim_whitespace(as_string_array(values)))


def empty_to_null(values: pa.StringArray) -> pa.StringArray:
    """Replace empty strings with null."""
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
