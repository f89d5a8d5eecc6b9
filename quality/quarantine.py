"""Turning rejected rows into quarantine records: raw record, locator, rule and reason.

Besides the raw record (JSON), a quarantine record may say where it came from (``source_file``
and ``source_line``, for a file drop) and keep the exact bytes delivered (``raw_bytes``) when the
JSON cannot hold them (a NUL, bytes that are not UTF-8, a line that is no record at all).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import REJECTED_SCHEMA
from quality.rules import Verdict

QUARANTINE_SCHEMA = REJECTED_SCHEMA
"""The columns of a batch's quarantine rows, as staged for ``quarantine.record``."""
FILE_COLUMN = "_file"
LINE_COLUMN = "_line"
"""Lineage columns a file connector adds to its rows (``connectors.file_drop``): file name and physical line."""


def quarantine_rows(
    raw: pa.Table, refs: pa.Array, verdict: Verdict, rejected: np.ndarray, raw_bytes: pa.Array | None = None
) -> pa.Table:
    """Build the quarantine rows of one batch.

    Only the rejected rows are touched in Python (serialising the raw record as JSON), so
    the cost follows the dirt rate, not the batch size.

    Args:
        raw: The batch as the source delivered it (after the byte screen: valid UTF-8, no NUL).
        refs: The mapping's record locators, one per raw row.
        verdict: The validation verdict of the batch.
        rejected: Boolean mask of the rows to quarantine.
        raw_bytes: Per row, the exact record as delivered when the screen had to alter it, else null.

    Returns:
        A table in :data:`QUARANTINE_SCHEMA`.
    """
    rows = np.flatnonzero(rejected)
    if len(rows) == 0:
        return QUARANTINE_SCHEMA.empty_table()
    index = pa.array(rows)
    rules, fields, messages = verdict.reasons(rows)
    records = raw.take(index).to_pylist()
    raw_json = [json.dumps(r, ensure_ascii=False, default=str) for r in records]
    n = len(rows)
    exact = raw_bytes.take(index) if raw_bytes is not None else pa.nulls(n, pa.binary())
    files = (
        raw[FILE_COLUMN].take(index).cast(pa.string()) if FILE_COLUMN in raw.column_names else pa.nulls(n, pa.string())
    )
    lines = (
        raw[LINE_COLUMN].take(index).cast(pa.int64()) if LINE_COLUMN in raw.column_names else pa.nulls(n, pa.int64())
    )
    return pa.table(
        [
            refs.take(index).cast(pa.string()),
            pa.array(rules),
            pa.array(fields),
            pa.array(messages),
            pa.array(raw_json),
            exact,
            files,
            lines,
        ],
        schema=QUARANTINE_SCHEMA,
    )


def rule_counts(rows: pa.Table | None) -> dict[str, int]:
    """Quarantine rows per rule (e.g. of the records a connector could not parse; none when ``None``)."""
    if rows is None or not rows.num_rows:
        return {}
    counted = pc.value_counts(rows["rule"]).to_pylist()
    return {c["values"]: int(c["counts"]) for c in counted}
