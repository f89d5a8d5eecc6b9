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

from schemas.arrowutil import as_string_array, byte_lengths, fixed_width_matrix
from schemas.codes import CITY_CODE, CITY_DISTRICTS, PROVINCES
from schemas.failure import Failure
from schemas.model import Field, Table
from schemas.standards import identity, uscc


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
    """Date column as integer YYYYMMDD (0 for null), by integer civil-from-days arithmetic (no datetime64 casts)."""
    days = pc.fill_null(pc.cast(dates, pa.int32()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    present = _mask(pc.is_valid(dates))
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return np.where(present, y * 10000 + m * 100 + d, 0).astype(np.int32)


@rule("required")
def required(f: Field, ctx: RuleContext) -> list[Failure]:
    """The field has a non-empty value."""
    column = ctx.data[f.name]
    missing = pc.is_null(column)
    if pa.types.is_string(column.type):
        missing = pc.or_kleene(missing, pc.equal(column, ""))
    return [Failure(f"{f.name}.required", f.name, f"{f.name} is required but missing", _mask(missing))]


@rule("code_table")
def code_table(f: Field, ctx: RuleContext) -> list[Failure]:
    """The value is one of the field's code table (null is left to ``required``)."""
    assert f.codes is not None, f"{f.name} declares code_table but has no codes"
    column = ctx.data[f.name]
    unknown = pc.and_(pc.is_valid(column), pc.invert(pc.is_in(column, value_set=pa.array(list(f.codes.codes)))))
    return [Failure(f"{f.name}.code_table", f.name, f"{f.name} is not a code of {f.codes.title}", _mask(unknown))]


_PROVINCE_TABLE = np.zeros(100, dtype=bool)
_PROVINCE_TABLE[[int(p) for p in PROVINCES]] = True


def _region_digits(column: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """Six-digit region codes as integers, and which rows are well formed (six ASCII digits, known province)."""
    n = len(column)
    codes = np.zeros(n, dtype=np.int32)
    ok = np.zeros(n, dtype=bool)
    wide = byte_lengths(column) == 6
    if wide.any():
        matrix = fixed_width_matrix(column if wide.all() else column.filter(pa.array(wide)), 6)
        digits = matrix.astype(np.int32) - 48
        well = ((digits >= 0) & (digits <= 9)).all(axis=1)
        value = np.zeros(len(matrix), dtype=np.int32)
        for i in range(6):
            value = value * 10 + digits[:, i]
        well &= _PROVINCE_TABLE[np.where(well, value // 10000, 0)]
        codes[wide] = np.where(well, value, 0)
        ok[wide] = well
    return codes, ok


@rule("gb_t_2260")
def region_code(f: Field, ctx: RuleContext) -> list[Failure]:
    """Six digits starting with a GB/T 2260 province prefix."""
    column = as_string_array(ctx.data[f.name])
    _, ok = _region_digits(column)
    bad = _mask(pc.is_valid(column)) & ~ok
    return [Failure(f"{f.name}.gb_t_2260", f.name, f"{f.name} is not a well-formed GB/T 2260 region code", bad)]


@rule("date_not_future")
def date_not_future(f: Field, ctx: RuleContext) -> list[Failure]:
    """A date that is not after today."""
    future = pc.greater(ctx.data[f.name], pa.scalar(ctx.today, pa.date32()))
    return [Failure(f"{f.name}.future", f.name, f"{f.name} is in the future", _mask(future))]


EARLIEST_DATE = dt.date(1900, 1, 1)
"""Dates before this are typing errors in every declared table (no record predates it)."""
CITY_REGIONS = frozenset({CITY_CODE, *CITY_DISTRICTS})
_CONTROL = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]"
"""C0 (tab and newline included), DEL, C1, and the Unicode line and paragraph separators (RE2 syntax)."""
_ZERO_WIDTH = r"[\x{200b}-\x{200d}\x{2060}\x{feff}]"
"""Zero-width space, non-joiner, joiner, word joiner, and the zero-width no-break space (BOM)."""
_BIDI_CONTROL = r"[\x{200e}\x{200f}\x{202a}-\x{202e}\x{2066}-\x{2069}]"
"""LRM/RLM, the embeddings and overrides (LRE..RLO) and the isolates (LRI..PDI)."""
_FULL_WIDTH_ASCII = "[\uff01-\uff5e\u3000]"


@rule("gb_t_2260_city")
def city_region_code(f: Field, ctx: RuleContext) -> list[Failure]:
    """GB/T 2260 (:func:`region_code`), and a code inside 银川市 (``6401xx``) must be one of the city's known codes."""
    column = as_string_array(ctx.data[f.name])
    codes, ok = _region_digits(column)
    city = int(CITY_CODE) // 100
    unknown = ok & (codes // 100 == city) & ~np.isin(codes, np.array(sorted(int(c) for c in CITY_REGIONS)))
    bad = _mask(pc.is_valid(column)) & ~ok
    return [
        Failure(f"{f.name}.gb_t_2260", f.name, f"{f.name} is not a well-formed GB/T 2260 region code", bad),
        Failure(
            f"{f.name}.city_region",
            f.name,
            f"{f.name} is inside 银川市 but not one of its known district codes",
            unknown,
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
    """Names and codes after mapping: clean characters, no padding, within the declared length.

    Rejected, each under its own rule: control characters (C0 including tab and newline, DEL,
    C1), zero-width characters, bidi controls, surrounding spaces, full-width ASCII left over,
    and more characters than the field declares (``Field.length``).

    One combined pattern finds the few suspicious rows; only those are told apart.
    """
    column = as_string_array(ctx.data[f.name])
    n = len(column)
    patterns = {
        "control_chars": _CONTROL,
        "zero_width": _ZERO_WIDTH,
        "bidi_control": _BIDI_CONTROL,
        "full_width": _FULL_WIDTH_ASCII,
    }
    masks = {kind: np.zeros(n, bool) for kind in (*patterns, "padded")}
    suspicious = _mask(pc.match_substring_regex(column, pattern="|".join([*patterns.values(), r"^\s|\s$"])))
    if suspicious.any():
        rows = np.flatnonzero(suspicious)
        few = column.filter(pa.array(suspicious))
        for kind, pattern in patterns.items():
            masks[kind][rows] = _mask(pc.match_substring_regex(few, pattern=pattern))
        masks["padded"][rows] = _mask(pc.not_equal(few, pc.utf8_trim_whitespace(few)))
    failures = [
        Failure(f"{f.name}.control_chars", f.name, f"{f.name} contains control characters", masks["control_chars"]),
        Failure(f"{f.name}.zero_width", f.name, f"{f.name} contains zero-width characters", masks["zero_width"]),
        Failure(
            f"{f.name}.bidi_control",
            f.name,
            f"{f.name} contains bidirectional control characters",
            masks["bidi_control"],
        ),
        Failure(f"{f.name}.padded", f.name, f"{f.name} has leading or trailing spaces", masks["padded"]),
        Failure(f"{f.name}.full_width", f.name, f"{f.name} still contains full-width ASCII", masks["full_width"]),
    ]
    if f.length is not None:
        too_long = _mask(pc.greater(pc.utf8_length(column), f.length))
        failures.append(
            Failure(
                f"{f.name}.too_long", f.name, f"{f.name} is longer than its declared {f.length} characters", too_long
            )
        )
    return failures


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
