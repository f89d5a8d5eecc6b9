"""Unified social credit codes (统一社会信用代码), GB 32100-2015, vectorised over Arrow.

The embedded organisation code (GB 11714) is checked too.

A USCC is 18 characters: registration authority and organisation type (each one character of
the USCC alphabet), a six-digit region code, the nine-character organisation code (eight body
characters and a GB 11714 check character) and the GB 32100 check character.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.arrowutil import as_string_array, byte_lengths, fixed_width_matrix

ALPHABET = b"0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int32)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int32)

_VALUE = np.full(256, -1, dtype=np.int32)  # byte -> USCC alphabet value, -1 if not in it
_VALUE[np.frombuffer(ALPHABET, dtype=np.uint8)] = np.arange(len(ALPHABET))
_ORG_VALUE = np.full(256, -1, dtype=np.int32)  # byte -> GB 11714 value (0-9, A-Z = 10-35)
_ORG_VALUE[np.arange(48, 58)] = np.arange(10)
_ORG_VALUE[np.arange(65, 91)] = np.arange(10, 36)


def check_characters(body: np.ndarray) -> np.ndarray:
    """GB 32100 check characters of ``(n, 17)`` uint8 bodies (all characters in the alphabet)."""
    total = (_VALUE[body] * WEIGHTS).sum(axis=1)
    return np.frombuffer(ALPHABET, dtype=np.uint8)[(31 - total % 31) % 31]


def org_check_characters(body: np.ndarray) -> np.ndarray:
    """GB 11714 check characters of ``(n, 8)`` uint8 organisation-code bodies."""
    c = 11 - (_ORG_VALUE[body] * ORG_WEIGHTS).sum(axis=1) % 11
    return np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), 48 + c)).astype(np.uint8)


def normalize(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Trim, remove inner spaces, NFKC (full-width → half-width) and upper-case."""
    values = pc.utf8_normalize(as_string_array(values), form="NFKC")
    return pc.utf8_upper(pc.replace_substring_regex(values, pattern=r"\s+", replacement=""))


@dataclass(frozen=True)
class UsccCheck:
    """Per-row verdicts on normalised USCCs.

    Attributes:
        bad_format: Not 18 characters of the right classes (nulls count as bad format).
        bad_checksum: Well formed, but the GB 32100 check character is wrong.
        bad_org_code: Well formed, but the embedded organisation code fails GB 11714.
    """

    bad_format: np.ndarray
    bad_checksum: np.ndarray
    bad_org_code: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """Rows that pass every check."""
        return ~(self.bad_format | self.bad_checksum | self.bad_org_code)


def check(values: pa.Array | pa.ChunkedArray) -> UsccCheck:
    """Check normalised USCCs (format, GB 32100 check character, GB 11714 organisation code)."""
    values = as_string_array(values)
    n = len(values)
    wide = byte_lengths(values) == 18
    bad_format = ~wide
    bad_checksum = np.zeros(n, dtype=bool)
    bad_org = np.zeros(n, dtype=bool)
    if wide.any():
        rows = np.flatnonzero(wide)
        m = fixed_width_matrix(values if wide.all() else values.filter(pa.array(wide)), 18)
        in_alphabet = (_VALUE[m] >= 0).all(axis=1)
        region_digits = ((m[:, 2:8] >= 48) & (m[:, 2:8] <= 57)).all(axis=1)
        ok = in_alphabet & region_digits
        bad_format[rows] = ~ok
        good_rows = rows[ok]
        good = m[ok]
        bad_checksum[good_rows] = check_characters(good[:, :17]) != good[:, 17]
        bad_org[good_rows] = org_check_characters(good[:, 8:16]) != good[:, 16]
    return UsccCheck(bad_format, bad_checksum, bad_org)
