"""Row digests: equal to the plain definition, independent of the batch, sensitive to every value."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.store import rowhash

COLUMNS = ["name", "born", "amount"]


def _table(names: list[str | None]) -> pa.Table:
    n = len(names)
    return pa.table(
        {
            "name": pa.array(names, pa.string()),
            "born": pa.array([dt.date(1990, 1, 1) + dt.timedelta(days=i) for i in range(n)], pa.date32()),
            "amount": pa.array([i * 7 for i in range(n)], pa.int64()),
        }
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), min_size=1, max_size=60))
def test_digests_equal_the_plain_definition_whatever_the_slice(names: list[str | None]) -> None:
    table = _table(names)
    digests = rowhash.row_hashes(table, COLUMNS).to_pylist()
    texts = rowhash.row_text(table, COLUMNS).to_pylist()
    assert digests == [rowhash.reference_hash(t.encode()) for t in texts]
    middle = table.slice(len(names) // 3)
    assert rowhash.row_hashes(middle, COLUMNS).to_pylist() == digests[len(names) // 3 :]


def test_null_empty_and_each_value_give_different_digests() -> None:
    table = _table([None, "", "a", "b", "a\x1fb"])  # (PostgreSQL text never holds the null marker 0x00)
    assert len(set(rowhash.row_hashes(table, COLUMNS).to_pylist())) == 5
    assert len(set(rowhash.row_hashes(table, ["name"]).to_pylist())) == 5


def test_rows_spanning_several_hash_chunks(monkeypatch) -> None:
    names = ["x" * 700, "y" * 900, "z", "w" * 1000]
    whole = rowhash.row_hashes(_table(names), COLUMNS).to_pylist()
    monkeypatch.setattr(rowhash, "CHUNK_BYTES", 1024)  # every row or two in a chunk of its own
    assert rowhash.row_hashes(_table(names), COLUMNS).to_pylist() == whole


def test_key_hashes_are_equal_exactly_for_equal_keys() -> None:
    table = pa.table({"k": ["a", "b", "a", None, ""], "v": [1, 1, 1, 1, 1]})
    h = rowhash.key_hashes(table, ["k", "v"])
    assert h[0] == h[2] and len({int(x) for x in h}) == 4
