"""The byte screen on Arrow batches: what it flags, what it hands on, what it keeps."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from connectors.base import DEFECT_COLUMN
from quality.screen import screen


def _invalid_utf8(values: list[bytes | None]) -> pa.Array:
    """A string array holding exactly these bytes (as a driver reading a SQL_ASCII database delivers)."""
    return pa.array(values, pa.binary()).view(pa.string())


def _rules(screened) -> dict[str, list[int]]:
    return {f"{f.rule}|{f.field}": np.flatnonzero(f.mask).tolist() for f in screened.failures}


def test_nul_control_c1_and_invalid_utf8_are_flagged_per_row_and_column() -> None:
    raw = pa.table(
        {
            "K": ["a", "b", "c", "d", "e", "f"],
            "XM": _invalid_utf8([b"ok", b"x\x00y", b"A\xffB", b"tab\tand\r\nbreaks", b"\xc2\x85", None]),
            "DZ": ["fine", "fine", "bell\x07", "del\x7f", "全角　空格", "\u200b"],
            "N": [1, 2, 3, 4, 5, 6],
        }
    )
    screened = screen(raw)
    assert _rules(screened) == {
        "value.invalid_utf8|XM": [2],
        "value.nul_byte|XM": [1],
        "value.control_character|XM": [4],
        "value.control_character|DZ": [2, 3],
    }
    out = screened.data
    out.validate(full=True)  # every string is UTF-8 again
    assert out["XM"].to_pylist() == ["ok", "x\ufffdy", "A\ufffdB", "tab\tand\r\nbreaks", "\ufffd", None]
    assert out["DZ"].to_pylist() == ["fine", "fine", "bell\ufffd", "del\ufffd", "全角　空格", "\u200b"]
    exact = screened.raw_bytes.to_pylist()
    assert exact[0] is None and exact[5] is None and b"\x7f" in exact[3]
    assert json.loads(exact[1].decode())["XM"] == "x\x00y"
    assert b'"XM": "A\xffB"' in exact[2]


def test_a_clean_batch_is_handed_on_untouched() -> None:
    raw = pa.table({"K": pa.chunked_array([["a", "b"], ["c"]]), "XM": ["张三", "李四", "王五"]})
    screened = screen(raw)
    assert screened.failures == () and screened.data.equals(raw)
    assert screened.raw_bytes.null_count == 3


def test_sliced_chunks_are_judged_on_their_own_bytes() -> None:
    whole = pa.array(["\x00first", "ok", "ok", "\x01last"])
    raw = pa.table({"XM": pa.chunked_array([whole.slice(1, 2), whole.slice(3, 1)])})
    assert _rules(screen(raw)) == {"value.control_character|XM": [2]}


def test_connector_defects_become_failures_and_the_column_goes() -> None:
    raw = pa.table({"jfjs": ["1.00", "3000.5"], DEFECT_COLUMN: [None, "value.type|jfjs"]})
    screened = screen(raw)
    assert screened.data.column_names == ["jfjs"]
    [failure] = screened.failures
    assert (failure.rule, failure.field, failure.mask.tolist()) == ("value.type", "jfjs", [False, True])
    assert "jfjs" in failure.message and "3000.5" not in failure.message
    assert screened.raw_bytes.to_pylist()[0] is None and screened.raw_bytes.to_pylist()[1] is not None
