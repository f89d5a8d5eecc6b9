"""Turning rejected rows into quarantine records: raw record, locator, rule and reason."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from quality.rules import Verdict


def quarantine_rows(raw: pa.Table, refs: pa.Array, verdict: Verdict, rejected: np.ndarray) -> pa.Table:
    """Build the quarantine rows of one batch.

    Only the rejected rows are touched in Python (serialising the raw record as JSON), so
    the cost follows the dirt rate, not the batch size.

    Args:
        raw: The batch as the source delivered it.
        refs: The mapping's record locators, one per raw row.
        verdict: The validation verdict of the batch.
        rejected: Boolean mask of the rows to quarantine.

    Returns:
        A table with columns record_ref, rule, field, message and raw (JSON text).
    """
    from hub.store.load import QUARANTINE_SCHEMA

    rows = np.flatnonzero(rejected)
    if len(rows) == 0:
        return QUARANTINE_SCHEMA.empty_table()
    index = pa.array(rows)
    rules, fields, messages = verdict.reasons(rows)
    records = raw.take(index).to_pylist()
    raw_json = [json.dumps(r, ensure_ascii=False, default=str) for r in records]
    return pa.table(
        [refs.take(index).cast(pa.string()), pa.array(rules), pa.array(fields), pa.array(messages), pa.array(raw_json)],
        schema=QUARANTINE_SCHEMA,
    )
