"""Vectorised value conversions every mapping may need: code tables and the sources' local time.

Kept apart from any one source's mapping so a mapping imports only this and :mod:`schemas.mapping`,
never another source's module.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from schemas import text

SOURCE_TIMEZONE = "Asia/Shanghai"
"""The zone of the departments' timestamps that carry none."""


def code_map(values: pa.Array | pa.ChunkedArray, table: dict[str, str]) -> pa.Array:
    """Translate source codes through ``table``; an unknown code becomes null."""
    keys = pa.array(list(table))
    index = pc.index_in(text.clean_code(values), value_set=keys)
    return pc.take(pa.array(list(table.values())), index)


def local_timestamps(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Source timestamps without zone, in Asia/Shanghai, as zone-aware timestamps."""
    values = pc.cast(values, pa.timestamp("us"))
    return pc.assume_timezone(values, timezone=SOURCE_TIMEZONE, ambiguous="earliest", nonexistent="earliest")
