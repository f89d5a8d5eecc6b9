"""How a source's records become rows of a standard table.

A :class:`Mapping` is declared once per source next to the table it feeds. It names the
source columns it expects (so a missing column fails the batch and an unexpected one is
reported as drift), documents which source column feeds which field, and transforms a raw
Arrow table into the table's declared Arrow schema, vectorised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from schemas.model import Table, arrow_schema

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from schemas.failure import Failure


@dataclass(frozen=True)
class MappedBatch:
    """A raw batch after mapping.

    Attributes:
        data: Rows in the standard table's Arrow schema, one per raw row, in the same order.
        refs: A locator per row naming the source record (key and version), for quarantine.
        failures: Problems found while mapping (e.g. an unparseable date), as rule failures.
    """

    data: pa.Table
    refs: pa.Array
    failures: tuple[Failure, ...]


@dataclass(frozen=True)
class Derivation:
    """A standard table derived from the mapped one, written in the same load transaction.

    Attributes:
        table: The derived table.
        sql: Given the staging table's name, one SQL statement that re-derives the rows of
            ``table`` affected by the staged rows (after the merge) and returns one row
            ``(inserted, updated)``. Parameters: ``$1`` source, ``$2`` batch id.
    """

    table: Table
    sql: Callable[[str], str]


class SchemaDriftError(ValueError):
    """A declared source column is missing from a batch: nothing of that batch may load."""


@dataclass(frozen=True)
class Mapping:
    """A source-to-standard-table mapping.

    Attributes:
        source: The source registry name.
        table: The standard table it feeds.
        source_columns: Column names the source is specified to deliver.
        field_sources: For each target field, the source column(s) it comes from (documentation
            and lineage; the transform is the executable truth).
        transform: Vectorised function from a raw Arrow table to a :class:`MappedBatch`.
        derived: Tables derived from this one in the same transaction (e.g. a case's state
            from all of its steps).
        raw_types: The Arrow type of each source column the connector delivers as something
            other than text (a column not listed arrives as ``string``). A quarantined record
            is kept as JSON, which has no dates or timestamps: a replay rebuilds the batch with
            these types, as the transform saw it at ingest, instead of guessing from the values.
    """

    source: str
    table: Table
    source_columns: tuple[str, ...]
    field_sources: dict[str, str]
    transform: Callable[[pa.Table], MappedBatch]
    derived: tuple[Derivation, ...] = ()
    raw_types: dict[str, pa.DataType] = field(default_factory=dict)

    def check_columns(self, raw: pa.Table) -> tuple[str, ...]:
        """Compare a raw batch's columns with the declared ones.

        Returns:
            Columns present but not declared (drift to record and report).

        Raises:
            SchemaDriftError: if a declared column is missing.
        """
        present = set(raw.column_names)
        missing = [c for c in self.source_columns if c not in present]
        if missing:
            raise SchemaDriftError(
                f"source {self.source}: declared column(s) {', '.join(missing)} missing from the batch; "
                "nothing from this batch was loaded"
            )
        return tuple(c for c in raw.column_names if c not in self.source_columns)

    def apply(self, raw: pa.Table) -> MappedBatch:
        """Map a raw batch, checking its columns first and the result's schema after."""
        self.check_columns(raw)
        mapped = self.transform(raw)
        expected = arrow_schema(self.table)
        if not mapped.data.schema.equals(expected, check_metadata=False):
            raise TypeError(
                f"mapping {self.source} -> {self.table.qualified_name} produced {mapped.data.schema}, "
                f"declared {expected}"
            )
        return mapped


def record_refs(key: pa.Array | pa.ChunkedArray, version: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Record locators ``<source key>@<version>`` (e.g. a timestamp), one per row, for quarantine.

    Cast, not ``strftime``: the text form of a timestamp is 30 times cheaper to make this way and
    a locator only has to be stable and readable.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(
        pc.fill_null(pc.cast(key, pa.string()), ""), pc.fill_null(pc.cast(version, pa.string()), ""), "@"
    )


def _format_ymd(stamps: pa.Array | pa.ChunkedArray, fmt: str) -> pa.Array | pa.ChunkedArray:
    """``stamps`` formatted by ``fmt``, from the date parts when ``fmt`` has only ``%Y``, ``%m``, ``%d`` and literals.

    The parts are about four times faster than the locale-aware ``strftime`` (README, "Measurements behind
    design choices").
    """
    import re

    import pyarrow as pa
    import pyarrow.compute as pc

    pieces = re.split(r"(%.)", fmt)
    if any(p.startswith("%") and p not in ("%Y", "%m", "%d") for p in pieces):
        return pc.strftime(stamps, format=fmt)
    parts = {"%Y": (pc.year, 4), "%m": (pc.month, 2), "%d": (pc.day, 2)}
    rendered = []
    for piece in pieces:
        if piece in parts:
            extract, width = parts[piece]
            rendered.append(pc.utf8_lpad(pc.cast(extract(stamps), pa.string()), width=width, padding="0"))
        elif piece:
            rendered.append(piece)
    return pc.binary_join_element_wise(*rendered, "")


def parse_dates(values: pa.Array | pa.ChunkedArray, fmt: str) -> tuple[pa.Array, np.ndarray]:
    """Date strings in ``fmt`` (trimmed; empty is null) as dates, and the rows holding a value that is no real date.

    Arrow's ``strptime`` rolls an impossible day over (``2016-02-30`` becomes 1 March), so only a
    date that formats back to its own text counts as real.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from schemas import text  # pyarrow stays out of DAG-file parsing (the registry imports this module)

    clean = text.clean_code(values)
    stamps = pc.strptime(clean, format=fmt, unit="s", error_is_null=True)
    real = pc.equal(_format_ymd(stamps, fmt), clean)
    parsed = pc.if_else(real, pc.cast(stamps, pa.date32()), pa.scalar(None, pa.date32()))
    bad = pc.and_(pc.is_valid(clean), pc.invert(pc.fill_null(real, False)))
    return parsed, pc.fill_null(bad, False).to_numpy(zero_copy_only=False)


TIME_OF_DAY = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
"""HH:MM:SS with hours 00-23 and minutes and seconds 00-59 (a regular-expression fragment)."""


def parse_timestamps(
    values: pa.Array | pa.ChunkedArray, pattern: str, type_: pa.DataType
) -> tuple[pa.Array, np.ndarray]:
    """ISO-8601 times shaped like ``pattern`` (trimmed; empty is null) as ``type_``, and the rows that are no real time.

    Arrow's ``strptime`` rolls an impossible day over (29 February 1900 becomes 1 March) and its
    ISO-8601 cast fails the whole column on one such value. So the shape is checked by
    ``pattern`` (which should use :data:`TIME_OF_DAY`), the day by :func:`parse_dates` on the
    first ten characters, and only the text that passes both is cast.

    Args:
        values: The source's time strings, ``YYYY-MM-DD`` first.
        pattern: A regular expression the whole value must match.
        type_: The timestamp type to cast to (with a zone for values that carry an offset).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from schemas import text  # as in parse_dates: pyarrow stays out of DAG-file parsing

    clean = text.clean_code(values)
    shaped = pc.fill_null(pc.match_substring_regex(clean, pattern), False).to_numpy(zero_copy_only=False)
    _, bad_day = parse_dates(pc.utf8_slice_codeunits(clean, 0, 10), "%Y-%m-%d")
    real = shaped & ~bad_day
    parsed = pc.cast(pc.if_else(pa.array(real), clean, pa.scalar(None, pa.string())), type_)
    present = pc.is_valid(clean).to_numpy(zero_copy_only=False)
    return parsed, present & ~real
