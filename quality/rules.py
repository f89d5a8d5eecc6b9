"""Vectorised row rules, attached to columns by name in the ``schemas`` declarations.

A rule looks at whole Arrow columns and returns :class:`Failure` masks; it never loops over
rows in Python. A row that fails any rule goes to quarantine with every reason found.
Messages name the field and the rule, never the value: they end up in logs and reports,
and values may be personal data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quality import identity, uscc
from quality.arrowutil import as_string_array
from schemas.codes import CITY_CODE, CITY_DISTRICTS, PROVINCES
from schemas.model import Field, Table


@dataclass(frozen=True)
class Failure:
    """Rows that fail one rule.

    Attributes:
        rule: Stable rule identifier, ``<field>.<check>``.
        field: The field judged.
        message: A readable reason without any value in it.
        mask: Boolean array, true for failing rows.
    """

    rule: str
    field: str
    message: str
    mask: np.ndarray


@dataclass(frozen=True)
class RuleContext:
    """What a rule may look at besides its own column."""

    table: Table
    data: pa.Table
    today: dt.date


RuleFunction = Callable[[Field, RuleContext], list[Failure]]
RULES: dict[str, RuleFunction] = {}


def rule(name: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a column rule under ``name`` (the name used in ``Field.rules``)."""

    def register(func: RuleFunction) -> RuleFunction:
        RULES[name] = func
        return func

    return register


def _mask(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow result as a numpy mask, null counting as false."""
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


@rule("gb11643")
def gb11643(f: Field, ctx: RuleContext) -> list[Failure]:
    """Identity number: format, check character, real and past birth date (GB 11643-1999)."""
    verdict = identity.check(ctx.data[f.name], today=ctx.today)
    present = _mask(pc.is_valid(ctx.data[f.name]))
    failures = [
        Failure(
            f"{f.name}.format",
            f.name,
            f"{f.name} is not 17 digits and a check digit or X",
            verdict.bad_format & present,
        ),
        Failure(
            f"{f.name}.checksum",
            f.name,
            f"{f.name} check character does not match (GB 11643-1999)",
            verdict.bad_checksum,
        ),
        Failure(f"{f.name}.birth_date", f.name, f"{f.name} positions 7-14 are not a real date", verdict.bad_birth_date),
        Failure(f"{f.name}.future_birth", f.name, f"{f.name} birth date is in the future", verdict.future_birth_date),
    ]
    columns = ctx.data.column_names
    if "gender" in columns:
        gender = as_string_array(ctx.data["gender"])
        male = _mask(pc.equal(gender, "1"))
        female = _mask(pc.equal(gender, "2"))
        usable = verdict.valid
        mismatch = usable & ((male & ~verdict.odd_sequence) | (female & verdict.odd_sequence))
        failures.append(
            Failure(
                f"{f.name}.gender_mismatch",
                "gender",
                "gender disagrees with the identity number's sequence parity",
                mismatch,
            )
        )
    if "birth_date" in columns:
        birth = ctx.data["birth_date"]
        present_birth = _mask(pc.is_valid(birth))
        ymd = _ymd(birth)
        mismatch = verdict.valid & present_birth & (ymd != verdict.birth_ymd)
        failures.append(
            Failure(
                f"{f.name}.birth_mismatch",
                "birth_date",
                "birth date disagrees with identity number positions 7-14",
                mismatch,
            )
        )
    return failures


@rule("gb32100")
def gb32100(f: Field, ctx: RuleContext) -> list[Failure]:
    """USCC: format, GB 32100 check character, embedded GB 11714 organisation code (null is left to ``required``)."""
    column = ctx.data[f.name]
    verdict = uscc.check(column)
    present = _mask(pc.is_valid(column))
    return [
        Failure(
            f"{f.name}.format",
            f.name,
            f"{f.name} is not an 18-character unified social credit code",
            verdict.bad_format & present,
        ),
        Failure(
            f"{f.name}.checksum",
            f.name,
            f"{f.name} check character does not match (GB 32100-2015)",
            verdict.bad_checksum,
        ),
        Failure(
            f"{f.name}.org_code", f.name, f"{f.name} embedded organisation code fails GB 11714", verdict.bad_org_code
        ),
    ]


def _ymd(dates: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Date column as integer YYYYMMDD (0 for null)."""
    days = pc.fill_null(pc.cast(dates, pa.int32()), 0).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    y = days.astype("datetime64[Y]").astype(np.int32) + 1970
    m = days.astype("datetime64[M]").astype(np.int32) % 12 + 1
    d = (days - days.astype("datetime64[M]")).astype(np.int32) + 1
    return y * 10000 + m * 100 + d


@rule("required")
def required(f: Field, ctx: RuleContext) -> list[Failure]:
    """The field has a non-empty value."""
    column = ctx.data[f.name]
    missing = pc.is_null(column)
    if pa.types.is_string(column.type):
        missing = pc.or_(missing, pc.equal(column, ""))
    return [Failure(f"{f.name}.required", f.name, f"{f.name} is required but missing", _mask(missing))]


@rule("code_table")
def code_table(f: Field, ctx: RuleContext) -> list[Failure]:
    """The value is one of the field's code table (null is left to ``required``)."""
    assert f.codes is not None, f"{f.name} declares code_table but has no codes"
    column = ctx.data[f.name]
    unknown = pc.and_(pc.is_valid(column), pc.invert(pc.is_in(column, value_set=pa.array(list(f.codes.codes)))))
    return [Failure(f"{f.name}.code_table", f.name, f"{f.name} is not a code of {f.codes.title}", _mask(unknown))]


@rule("gb_t_2260")
def region_code(f: Field, ctx: RuleContext) -> list[Failure]:
    """Six digits starting with a GB/T 2260 province prefix."""
    column = as_string_array(ctx.data[f.name])
    well_formed = pc.match_substring_regex(column, pattern=r"^[0-9]{6}$")
    known = pc.is_in(pc.utf8_slice_codeunits(column, 0, 2), value_set=pa.array(list(PROVINCES)))
    bad = pc.and_(pc.is_valid(column), pc.invert(pc.and_(well_formed, known)))
    return [Failure(f"{f.name}.gb_t_2260", f.name, f"{f.name} is not a well-formed GB/T 2260 region code", _mask(bad))]


@rule("date_not_future")
def date_not_future(f: Field, ctx: RuleContext) -> list[Failure]:
    """A date that is not after today."""
    future = pc.greater(ctx.data[f.name], pa.scalar(ctx.today, pa.date32()))
    return [Failure(f"{f.name}.future", f.name, f"{f.name} is in the future", _mask(future))]


EARLIEST_DATE = dt.date(1900, 1, 1)
"""Dates before this are typing errors in every declared table (no record predates it)."""
CITY_REGIONS = frozenset({CITY_CODE, *CITY_DISTRICTS})
_CONTROL = r"[\x00-\x08\x0b-\x1f\x7f]"
_FULL_WIDTH_ASCII = "[\uff01-\uff5e\u3000]"


@rule("gb_t_2260_city")
def city_region_code(f: Field, ctx: RuleContext) -> list[Failure]:
    """GB/T 2260 (:func:`region_code`), and a code inside 银川市 (``6401xx``) must be one of the city's known codes."""
    column = as_string_array(ctx.data[f.name])
    in_city = pc.and_(pc.starts_with(column, CITY_CODE[:4]), pc.match_substring_regex(column, pattern=r"^[0-9]{6}$"))
    unknown = pc.and_(in_city, pc.invert(pc.is_in(column, value_set=pa.array(sorted(CITY_REGIONS)))))
    return [
        *region_code(f, ctx),
        Failure(
            f"{f.name}.city_region",
            f.name,
            f"{f.name} is inside 银川市 but not one of its known district codes",
            _mask(unknown),
        ),
    ]


@rule("date_range")
def date_range(f: Field, ctx: RuleContext) -> list[Failure]:
    """A date between 1900-01-01 and today (the lower bound catches typing errors)."""
    column = ctx.data[f.name]
    early = pc.less(column, pa.scalar(EARLIEST_DATE, pa.date32()))
    return [
        Failure(f"{f.name}.too_early", f.name, f"{f.name} is before {EARLIEST_DATE.isoformat()}", _mask(early)),
        *date_not_future(f, ctx),
    ]


@rule("decimal_non_negative")
def decimal_non_negative(f: Field, ctx: RuleContext) -> list[Failure]:
    """A decimal that is not negative and fits its declared precision (null is left to ``required``)."""
    column = ctx.data[f.name]
    digits, scale = f.precision
    limit = pa.scalar(Decimal(10 ** (digits - scale)) - Decimal(1).scaleb(-scale), column.type)
    negative = pc.less(column, pa.scalar(Decimal(0), column.type))
    too_big = pc.greater(column, limit)
    return [
        Failure(f"{f.name}.negative", f.name, f"{f.name} is negative", _mask(negative)),
        Failure(f"{f.name}.precision", f.name, f"{f.name} exceeds numeric({digits},{scale})", _mask(too_big)),
    ]


@rule("text_hygiene")
def text_hygiene(f: Field, ctx: RuleContext) -> list[Failure]:
    """Free text after mapping: no control characters, no surrounding spaces, no full-width ASCII left."""
    column = as_string_array(ctx.data[f.name])
    control = pc.match_substring_regex(column, pattern=_CONTROL)
    padded = pc.not_equal(column, pc.utf8_trim_whitespace(column))
    full_width = pc.match_substring_regex(column, pattern=_FULL_WIDTH_ASCII)
    return [
        Failure(f"{f.name}.control_chars", f.name, f"{f.name} contains control characters", _mask(control)),
        Failure(f"{f.name}.padded", f.name, f"{f.name} has leading or trailing spaces", _mask(padded)),
        Failure(f"{f.name}.full_width", f.name, f"{f.name} still contains full-width ASCII", _mask(full_width)),
    ]


@dataclass(frozen=True)
class Verdict:
    """The outcome of validating one mapped batch."""

    failures: tuple[Failure, ...]
    rows: int

    @property
    def rejected(self) -> np.ndarray:
        """Rows that fail at least one rule."""
        mask = np.zeros(self.rows, dtype=bool)
        for failure in self.failures:
            mask |= failure.mask
        return mask

    def reasons(self, rows: np.ndarray) -> tuple[list[str], list[str], list[str]]:
        """The first rule, its field and all messages for each of the given row indices."""
        rules, fields, messages = [], [], []
        hits = [(f, f.mask[rows]) for f in self.failures if f.mask[rows].any()]
        for i in range(len(rows)):
            found = [f for f, m in hits if m[i]]
            rules.append(found[0].rule)
            fields.append(found[0].field)
            messages.append("; ".join(f"[{f.rule}] {f.message}" for f in found))
        return rules, fields, messages

    def counts(self) -> dict[str, int]:
        """Failing rows per rule (a row failing two rules counts under both)."""
        return {f.rule: int(f.mask.sum()) for f in self.failures if f.mask.any()}


def validate(table: Table, data: pa.Table, *, today: dt.date | None = None, extra: tuple[Failure, ...] = ()) -> Verdict:
    """Apply every rule the declaration attaches to ``table``'s fields.

    Args:
        table: The declared standard table.
        data: A mapped batch with the table's business columns.
        today: Reference date for "in the future" rules.
        extra: Failures already found while mapping (e.g. an unparseable date).

    Returns:
        The verdict for every row.
    """
    ctx = RuleContext(table=table, data=data, today=today or dt.date.today())
    failures: list[Failure] = list(extra)
    for f in table.fields:
        names = list(f.rules)
        if not f.nullable and "required" not in names:
            names.insert(0, "required")
        for name in names:
            try:
                func = RULES[name]
            except KeyError as err:
                raise KeyError(f"{table.qualified_name}.{f.name} declares unknown rule {name!r}") from err
            failures.extend(func(f, ctx))
    return Verdict(failures=tuple(failures), rows=data.num_rows)
