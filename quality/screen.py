r"""The byte screen every raw batch passes before it is mapped: no NUL, control or non-UTF-8 byte gets further.

Whatever the source (a database, a REST page, a file), a value may hold bytes that are never data
and that the store cannot even take: PostgreSQL refuses a NUL and any byte sequence that is not
UTF-8, and one such value would fail the whole batch's COPY. The screen finds them, vectorised,
and turns them into rule failures of their rows, so they are quarantined with the source's key
like any other bad row while the rest of the batch loads:

* ``value.nul_byte``: a NUL (``U+0000``);
* ``value.control_character``: another C0 control but tab, line feed and carriage return, DEL,
  or a C1 control (``U+0080``-``U+009F``);
* ``value.invalid_utf8``: bytes that are not UTF-8 (e.g. from a ``SQL_ASCII`` database);
* whatever a connector flagged in :data:`connectors.base.DEFECT_COLUMN` (e.g. ``value.type``,
  a JSON number where text is declared).

The batch handed on has those values made harmless (each offending character replaced by
``U+FFFD``), so the mapping's kernels and the quarantine's JSON never meet them; the exact
original record is kept as bytes (``raw_bytes``: its JSON text, NUL escaped as ``\u0000``, other
bytes as delivered). Only the flagged rows are touched in Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import DEFECT_COLUMN
from schemas.failure import Failure

REPLACEMENT = "\ufffd"
CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
"""What :func:`screen` replaces, as an RE2 character class (NUL, controls but tab, LF, CR, DEL, C1)."""
UNREPLAYABLE_RULE_PREFIXES = ("file.", "value.")
"""Quarantine rules whose records a replay cannot release by re-mapping ``raw``: a line that was no
record (``file.*``, its ``raw`` is only the text) or a value whose bytes were altered to be stored
(``value.*``). Only a corrected delivery from the source fixes them."""
_SUSPECT = np.zeros(256, dtype=bool)
_SUSPECT[[*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0xC2]] = True
"""Bytes that are, or may start (``0xC2``: a C1 control's lead byte), a character the screen refuses."""
DEFECT_MESSAGES = {
    "value.type": "{field} is not of the type the source declares",
    "value.invalid_utf8": "{field} holds bytes that are not UTF-8",
}


@dataclass(frozen=True)
class Screened:
    """A raw batch after the screen.

    Attributes:
        data: The batch to map: same rows and columns (but the connector's defect column), with
            every offending character replaced.
        failures: One failure per rule and column that caught a row.
        raw_bytes: Per row, the exact original record (JSON text as bytes) for a flagged row, else null.
    """

    data: pa.Table
    failures: tuple[Failure, ...]
    raw_bytes: pa.Array


def screen(raw: pa.Table) -> Screened:
    """Screen a raw batch (see the module docstring).

    Args:
        raw: The batch as the connector delivered it.

    Returns:
        The batch safe to map, the failures found and the exact bytes of the flagged rows.
    """
    n = raw.num_rows
    failures: list[Failure] = []
    data = raw
    flagged = np.zeros(n, dtype=bool)
    if DEFECT_COLUMN in raw.column_names:
        defect_failures = _defects(raw[DEFECT_COLUMN])
        failures += defect_failures
        for f in defect_failures:
            flagged |= f.mask
        data = data.drop_columns([DEFECT_COLUMN])
    original = data
    for i, name in enumerate(data.column_names):
        column = data.column(i)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        invalid = _invalid_utf8(column)
        if invalid.any():
            failures.append(Failure("value.invalid_utf8", name, f"{name} holds bytes that are not UTF-8", invalid))
            column = _repaired(column, invalid)
        nul, control = _controls(column)
        if nul.any():
            failures.append(Failure("value.nul_byte", name, f"{name} holds a NUL byte", nul))
        if control.any():
            failures.append(Failure("value.control_character", name, f"{name} holds a control character", control))
        hit = invalid | nul | control
        if nul.any() or control.any():
            column = pc.replace_substring_regex(column, pattern=CONTROL_PATTERN, replacement=REPLACEMENT)
        if hit.any():
            flagged |= hit
            data = data.set_column(i, name, column)
    return Screened(data, tuple(failures), _exact_records(original, flagged))


def _defects(defects: pa.ChunkedArray | pa.Array) -> list[Failure]:
    """The connector's per-row defects (``<rule>|<field>``) as failures."""
    values = pc.fill_null(defects.cast(pa.string()), "")
    failures = []
    for value in pc.unique(values).to_pylist():
        if not value:
            continue
        rule, _, field = value.partition("|")
        mask = pc.equal(values, value).to_numpy(zero_copy_only=False)
        message = DEFECT_MESSAGES.get(rule, "{field} failed " + rule + " at the source").format(field=field)
        failures.append(Failure(rule, field, message, mask))
    return failures


def _invalid_utf8(column: pa.ChunkedArray) -> np.ndarray:
    """Rows whose value is not valid UTF-8 (checked per chunk at memory speed; per value only in a bad chunk)."""
    parts = []
    for chunk in column.chunks:
        try:
            chunk.validate(full=True)
            parts.append(np.zeros(len(chunk), dtype=bool))
        except pa.ArrowInvalid:
            parts.append(np.array([v is not None and not _is_utf8(v) for v in _as_bytes(chunk)], dtype=bool))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _as_bytes(chunk: pa.Array) -> list[bytes | None]:
    binary = pa.large_binary() if pa.types.is_large_string(chunk.type) else pa.binary()
    return chunk.view(binary).to_pylist()


def _repaired(column: pa.ChunkedArray, invalid: np.ndarray) -> pa.ChunkedArray:
    """``column`` with its invalid values decoded with replacement characters."""
    chunks, at = [], 0
    for chunk in column.chunks:
        bad = invalid[at : at + len(chunk)]
        at += len(chunk)
        if not bad.any():
            chunks.append(chunk)
            continue
        values = [
            v.decode("utf-8", "replace") if v is not None and b else (None if v is None else v.decode("utf-8"))
            for v, b in zip(_as_bytes(chunk), bad, strict=True)
        ]
        chunks.append(pa.array(values, chunk.type))
    return pa.chunked_array(chunks, column.type)


def _controls(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Rows holding a NUL, and rows holding another control character, found on the values' bytes.

    Three vectorised comparisons per byte find the suspects (rare); only those are looked at further.
    """
    nul_parts, control_parts = [], []
    for chunk in column.chunks:
        nul = np.zeros(len(chunk), dtype=bool)
        control = np.zeros(len(chunk), dtype=bool)
        nul_parts.append(nul)
        control_parts.append(control)
        offsets_buffer, values_buffer = chunk.buffers()[1], chunk.buffers()[2]
        if not len(chunk) or values_buffer is None:
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(offsets_buffer, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.frombuffer(values_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
        suspects = np.flatnonzero((data < 0x20) | (data == 0x7F) | (data == 0xC2))  # rare; tab and line ends too
        suspects = suspects[_SUSPECT[data[suspects]]]
        if not len(suspects):
            continue
        kinds = data[suspects]
        following = data[np.minimum(suspects + 1, len(data) - 1)]
        c1 = (kinds == 0xC2) & (suspects + 1 < len(data)) & (following >= 0x80) & (following <= 0x9F)
        for mask, positions in (
            (nul, suspects[kinds == 0]),
            (control, suspects[((kinds != 0xC2) & (kinds != 0)) | c1]),
        ):
            if len(positions):
                mask[np.searchsorted(offsets, positions + offsets[0], side="right") - 1] = True
        valid = chunk.is_valid().to_numpy(zero_copy_only=False)
        nul &= valid
        control &= valid
    if not nul_parts:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    return np.concatenate(nul_parts), np.concatenate(control_parts)


def _exact_records(original: pa.Table, flagged: np.ndarray) -> pa.Array:
    """The flagged rows' original records as JSON bytes (undecodable bytes kept as they were), else null."""
    out: list[bytes | None] = [None] * original.num_rows
    rows = np.flatnonzero(flagged)
    if not len(rows):
        return pa.array(out, pa.binary())
    picked = original.take(pa.array(rows))
    columns = {}
    for name in picked.column_names:
        column = picked[name].combine_chunks()
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            columns[name] = [None if v is None else v.decode("utf-8", "surrogateescape") for v in _as_bytes(column)]
        else:
            columns[name] = column.to_pylist()
    for k, row in enumerate(rows):
        record = {name: values[k] for name, values in columns.items()}
        text = json.dumps(record, ensure_ascii=False, default=str)
        out[int(row)] = text.encode("utf-8", "surrogateescape")
    return pa.array(out, pa.binary())
