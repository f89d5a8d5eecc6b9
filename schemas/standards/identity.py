"""Resident identity numbers (公民身份号码), GB 11643-1999, vectorised over Arrow.

Two steps, kept apart so a mapping can normalise and a rule can judge:

* :func:`normalize` repairs what real data carries and what is only formatting: surrounding
  or inner spaces, full-width digits, a lower-case ``x``; it upgrades a legacy 15-digit
  number (GB 11643-1989) to 18 digits and reports which rows it upgraded.
* :func:`check` judges the normalised numbers: format, check character, birth date real and
  not in the future, and exposes the birth date and sex digit for cross-field rules.

The hot path works on an ``(n, 18)`` byte matrix over the Arrow buffer; only the rare rows
that are not plain 18-byte ASCII go through the slower Unicode normalisation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.arrowutil import as_string_array, byte_lengths, fixed_width_matrix, matrix_to_strings, scatter

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int32)
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)
_DIGIT_0 = ord("0")
_UPPER_X = ord("X")
_LOWER_X = ord("x")
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def check_characters(body: np.ndarray) -> np.ndarray:
    """Compute GB 11643 check characters.

    Args:
        body: ``(n, 17)`` uint8 matrix of ASCII digits.

    Returns:
        ``(n,)`` uint8 array of ASCII check characters (``0``-``9`` or ``X``).
    """
    return _check_characters(_digits_by_position(body))


def _digits_by_position(matrix: np.ndarray) -> np.ndarray:
    """``(width, n)`` digit values of an ``(n, width)`` ASCII matrix, each position a contiguous row.

    A copy, never a view: the matrix may be the caller's Arrow buffer. Anything not a digit wraps
    around to a value of 10 or more.
    """
    columns = np.array(matrix.T, order="C", copy=True)
    columns -= np.uint8(_DIGIT_0)
    return columns


def _check_characters(columns: np.ndarray) -> np.ndarray:
    """Check characters of position-major digits (the first 17 rows of ``columns``)."""
    total = np.zeros(columns.shape[1], dtype=np.int16)
    for i in range(17):
        total += columns[i] * np.int16(WEIGHTS[i])
    return CHECK_CHARS[total % 11]  # numpy's % is non-negative for a positive divisor


def normalize(values: pa.Array | pa.ChunkedArray) -> tuple[pa.StringArray, np.ndarray]:
    """Normalise identity numbers and upgrade legacy 15-digit ones.

    Args:
        values: Raw identity numbers as delivered by a source.

    Returns:
        The normalised numbers (nulls stay null; a value that cannot be repaired is returned
        cleaned but otherwise as is, for :func:`check` to reject) and a boolean mask of the rows
        upgraded from a legacy 15-digit number.
    """
    values = as_string_array(values)
    n = len(values)
    lengths = byte_lengths(values)
    plain = lengths == 18
    if plain.any():
        # Plain rows: 18 ASCII bytes of digits/X/x. Anything else goes the slow way.
        candidates = values if plain.all() else values.filter(pa.array(plain))
        matrix = fixed_width_matrix(candidates, 18)
        ok = ((matrix[:, :17] >= _DIGIT_0) & (matrix[:, :17] <= _DIGIT_0 + 9)).all(axis=1)
        last = matrix[:, 17]
        ok &= ((last >= _DIGIT_0) & (last <= _DIGIT_0 + 9)) | (last == _UPPER_X) | (last == _LOWER_X)
        plain[plain] = ok
        lower_x = ok & (last == _LOWER_X)
        if lower_x.any():
            fixed = matrix[lower_x].copy()
            fixed[:, 17] = _UPPER_X
            mask = np.zeros(n, dtype=bool)
            mask[np.flatnonzero(lengths == 18)[lower_x]] = True
            values = scatter(values, mask, matrix_to_strings(fixed))
    messy = ~plain & (lengths >= 0)
    if messy.any():
        values = scatter(values, messy, _normalize_slow(values.filter(pa.array(messy))))
        lengths = byte_lengths(values)
    legacy = lengths == 15
    if legacy.any():
        short = fixed_width_matrix(values.filter(pa.array(legacy)), 15)
        digits_only = ((short >= _DIGIT_0) & (short <= _DIGIT_0 + 9)).all(axis=1)
        legacy[legacy] = digits_only
        short = short[digits_only]
        upgraded = np.empty((short.shape[0], 18), dtype=np.uint8)
        upgraded[:, :6] = short[:, :6]
        upgraded[:, 6] = ord("1")
        upgraded[:, 7] = ord("9")
        upgraded[:, 8:17] = short[:, 6:15]
        upgraded[:, 17] = check_characters(upgraded[:, :17])
        values = scatter(values, legacy, matrix_to_strings(upgraded))
    return values, legacy


def _normalize_slow(values: pa.StringArray) -> pa.StringArray:
    """Unicode-aware clean-up for the few messy values: NFKC (full-width → half-width), no spaces, upper-case."""
    values = pc.utf8_normalize(values, form="NFKC")
    values = pc.replace_substring_regex(values, pattern=r"\s+", replacement="")
    return pc.utf8_upper(values)


@dataclass(frozen=True)
class IdentityCheck:
    """Per-row verdicts on normalised identity numbers (all arrays have one entry per row).

    Attributes:
        bad_format: Not 17 digits followed by a digit or ``X`` (nulls count as bad format).
        bad_checksum: Well formed but the check character is wrong.
        bad_birth_date: Positions 7-14 are not a real date.
        future_birth_date: Positions 7-14 are a real date after ``today``.
        birth_ymd: The encoded birth date as the integer YYYYMMDD (0 where not well formed).
        odd_sequence: Whether the sequence (position 17) is odd, i.e. the number says male.
    """

    bad_format: np.ndarray
    bad_checksum: np.ndarray
    bad_birth_date: np.ndarray
    future_birth_date: np.ndarray
    birth_ymd: np.ndarray
    odd_sequence: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """Rows that pass every check."""
        return ~(self.bad_format | self.bad_checksum | self.bad_birth_date | self.future_birth_date)


def check(values: pa.Array | pa.ChunkedArray, today: dt.date | None = None) -> IdentityCheck:
    """Check normalised identity numbers against GB 11643-1999.

    Args:
        values: Identity numbers as returned by :func:`normalize`.
        today: The date after which a birth date is in the future (defaults to today).

    Returns:
        The per-row verdicts.
    """
    values = as_string_array(values)
    n = len(values)
    today = today or dt.date.today()
    width_ok = byte_lengths(values) == 18
    bad_format = ~width_ok
    bad_checksum = np.zeros(n, dtype=bool)
    bad_date = np.zeros(n, dtype=bool)
    future = np.zeros(n, dtype=bool)
    birth_ymd = np.zeros(n, dtype=np.int32)
    odd = np.zeros(n, dtype=bool)
    if not width_ok.any():
        return IdentityCheck(bad_format, bad_checksum, bad_date, future, birth_ymd, odd)
    all_wide = bool(width_ok.all())
    matrix = fixed_width_matrix(values if all_wide else values.filter(pa.array(width_ok)), 18)
    # Position-major: each step below is then a pass over n contiguous bytes (on the (n, 18) view
    # each position is strided, several times slower).
    columns = _digits_by_position(matrix)
    highest = columns[0].copy()
    for i in range(1, 17):
        np.maximum(highest, columns[i], out=highest)
    last = columns[17]
    well_formed = (highest < 10) & ((last < 10) | (last == np.uint8(_UPPER_X - _DIGIT_0)))
    checksum_ok = _check_characters(columns) == matrix[:, 17]
    year = _number(columns, 6, 4)
    month = _number(columns, 10, 2)
    day = _number(columns, 12, 2)
    real = _real_dates(year, month, day)
    ymd = year * 10000 + month * 100 + day
    today_ymd = today.year * 10000 + today.month * 100 + today.day
    rows = slice(None) if all_wide else np.flatnonzero(width_ok)
    bad_format[rows] = ~well_formed
    bad_checksum[rows] = well_formed & ~checksum_ok
    bad_date[rows] = well_formed & ~real
    future[rows] = well_formed & real & (ymd > today_ymd)
    birth_ymd[rows] = np.where(well_formed, ymd, 0)
    odd[rows] = well_formed & (columns[16] % 2 == 1)
    return IdentityCheck(bad_format, bad_checksum, bad_date, future, birth_ymd, odd)


def _number(columns: np.ndarray, start: int, width: int) -> np.ndarray:
    """The decimal number in positions ``start`` to ``start + width`` of column-major digits."""
    value = np.zeros(columns.shape[1], dtype=np.int32)
    for i in range(start, start + width):
        value = value * 10 + columns[i]
    return value


def _real_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    max_day = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    return (year >= 1800) & month_ok & (day >= 1) & (day <= max_day)
