"""The declaration language for standard shared tables.

A :class:`Table` lists its :class:`Field` objects once. Everything else (PostgreSQL DDL, the
Arrow schema, the catalogue entry, quality rules) is derived from it, so a column is added in
exactly one place. This module must stay cheap to import: DAG files read the registry at parse
time, so pyarrow is imported only inside the functions that need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


class DataType(StrEnum):
    """Logical column types, each with one PostgreSQL and one Arrow spelling."""

    TEXT = "text"
    DATE = "date"
    TIMESTAMP = "timestamptz"
    DECIMAL = "numeric"
    INTEGER = "bigint"
    BOOLEAN = "boolean"


class PersonalClass(StrEnum):
    """Personal-data class of a field, which drives masking and logging rules."""

    NONE = "none"
    IDENTIFIER = "identifier"  # identity number
    NAME = "name"
    ADDRESS = "address"
    PHONE = "phone"
    OTHER = "other"


class Sharing(StrEnum):
    """Sharing attribute (共享属性) under 国发〔2016〕51号."""

    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NOT_SHARED = "not_shared"  # 不予共享

    @property
    def strictness(self) -> int:
        """0 for 无条件, 1 for 有条件, 2 for 不予共享: a derived value may never be less strict."""
        return (Sharing.UNCONDITIONAL, Sharing.CONDITIONAL, Sharing.NOT_SHARED).index(self)


class Info(StrEnum):
    """A kind of personal information a value carries, for the check that masking survives combination.

    A masked or withheld field declares what it carries; a field readable without a grant must not
    carry in clear what any masked field hides or any withheld field is (see :mod:`schemas.disclosure`).
    """

    ID_NUMBER = "id_number"  # a person's identity number as a whole
    BIRTH_DATE = "birth_date"
    BIRTH_YEAR = "birth_year"  # a generalised birth date still narrows the hidden digits to a few dozen
    SEX = "sex"
    REGION = "region"  # administrative division code (户籍地, or of the identity number's issuer)
    PERSON_NAME = "person_name"
    PHONE = "phone"
    ADDRESS = "address"
    PERSON_NO = "person_no"  # 社保个人编号 / 医保人员编号
    CARD_NO = "card_no"  # 社会保障卡号
    CARD_ISSUE_DATE = "card_issue_date"  # 发卡日期 (and what follows from it, e.g. the card's expiry)


@dataclass(frozen=True)
class Part:
    """Characters ``start``..``end`` (1-based, inclusive) of a fixed-format value carry ``info``."""

    info: Info
    start: int
    end: int


@dataclass(frozen=True)
class Layout:
    """Where the parts of a fixed-format value sit, for a value of ``length`` characters."""

    length: int
    parts: tuple[Part, ...]


GB11643 = Layout(
    18,
    (
        Part(Info.REGION, 1, 6),
        Part(Info.BIRTH_YEAR, 7, 10),
        Part(Info.BIRTH_DATE, 7, 14),
        Part(Info.SEX, 17, 17),
    ),
)
"""公民身份号码 (GB 11643-1999): region 1-6, birth date 7-14, sequence 15-17 (odd 17 = male), check 18."""


@dataclass(frozen=True)
class MaskRule:
    """A mask defined by what it hides.

    The first ``head`` and the last ``tail`` characters stay; the ones between are starred, or replaced by
    ``filler`` so that their number is hidden too. A value that would keep fewer than ``min_hidden``
    characters hidden is masked entirely (all stars, or ``filler``), whatever its length: a short value
    is never shown nearly whole. ``None`` stays ``None`` and the empty string stays empty.
    """

    head: int
    tail: int
    min_hidden: int
    filler: str | None = None

    @property
    def min_length(self) -> int:
        """The shortest value whose head and tail are shown."""
        return self.head + self.tail + self.min_hidden

    def hidden_positions(self, length: int) -> range:
        """The 1-based positions hidden in a value of ``length`` characters."""
        if length < self.min_length:
            return range(1, length + 1)
        return range(self.head + 1, length - self.tail + 1)


MASK_RULES: dict[PersonalClass, MaskRule] = {
    PersonalClass.IDENTIFIER: MaskRule(head=6, tail=4, min_hidden=8),  # 640104********1234
    PersonalClass.PHONE: MaskRule(head=3, tail=4, min_hidden=4),  # 138****5678
    PersonalClass.NAME: MaskRule(head=1, tail=0, min_hidden=1),  # 张**
    PersonalClass.ADDRESS: MaskRule(head=6, tail=0, min_hidden=4, filler="****"),  # 宁夏回族自治****
    PersonalClass.OTHER: MaskRule(head=0, tail=4, min_hidden=4),  # *****5678
}
"""The mask of each personal class (``none`` is never masked). Both the API and the SQL views use these."""


@dataclass(frozen=True)
class CodeTable:
    """A closed code set (a national standard or a documented enum).

    Attributes:
        name: Short identifier, e.g. ``gb_t_2261_1``.
        title: What the codes are, in the standard's words.
        codes: Mapping of stored code to its meaning.
    """

    name: str
    title: str
    codes: dict[str, str]


@dataclass(frozen=True)
class Field:
    """One column of a standard shared table.

    Attributes:
        name: Column name in the shared store.
        type: Logical type.
        title: Chinese name as it appears in the catalogue (信息项名称).
        nullable: Whether the column may be null.
        key: Part of the business key.
        personal: Personal-data class, for masking and logging.
        sharing: Field-level sharing attribute (a not-shared field is never exposed).
        codes: Code table the values must come from, if any.
        rules: Names of row rules in :mod:`quality.rules` that apply to this column.
        precision: Precision and scale for decimals.
        length: Most characters a text value may hold (counted like PostgreSQL's ``varchar(n)``);
            ``None`` for no limit. The ``text_hygiene`` rule quarantines a longer value with its
            reason; the store column stays ``text``, because a cast to ``varchar(n)`` would
            silently cut a value (or a filter's parameter) short.
        description: One line for the catalogue and API docs.
        carries: The personal information (:class:`Info`) the whole value is or contains; a derived field
            carries at least what its sources carry.
        layout: For a fixed-format value, which characters carry which information (e.g. :data:`GB11643`),
            so that the check knows what the mask hides and what it shows.
        derived_from: ``schema.table.field`` of each column this value is made from, row by row (a derived
            field may be neither less strictly shared nor less personal than its sources).
    """

    name: str
    type: DataType
    title: str
    nullable: bool = True
    key: bool = False
    personal: PersonalClass = PersonalClass.NONE
    sharing: Sharing = Sharing.UNCONDITIONAL
    codes: CodeTable | None = None
    rules: tuple[str, ...] = ()
    precision: tuple[int, int] = (18, 4)
    length: int | None = None
    description: str = ""
    carries: tuple[Info, ...] = ()
    layout: Layout | None = None
    derived_from: tuple[str, ...] = ()

    @property
    def sql_type(self) -> str:
        """The PostgreSQL type of this column."""
        if self.type is DataType.DECIMAL:
            return f"numeric({self.precision[0]},{self.precision[1]})"
        return str(self.type)


LINEAGE_FIELDS: tuple[Field, ...] = (
    Field("source_system", DataType.TEXT, "来源系统", nullable=False, description="Source registry name"),
    Field("batch_id", DataType.TEXT, "批次标识", nullable=False, description="Ledger batch that wrote it"),
    Field("loaded_at", DataType.TIMESTAMP, "入库时间", nullable=False, description="When the hub wrote it"),
    Field("record_hash", DataType.TEXT, "记录摘要", nullable=False, description="Hash of the business columns"),
)


@dataclass(frozen=True)
class Table:
    """A standard shared table (a resource in the 政务信息资源目录).

    Attributes:
        schema: PostgreSQL schema, normally ``shared``.
        name: Table name.
        code: Catalogue resource code.
        title: Chinese resource name.
        provider: Providing department code (e.g. ``GA``).
        summary: Catalogue summary (摘要).
        fields: Business columns in order; lineage columns are appended automatically.
        sharing: Resource-level sharing attribute.
        update_cycle: How often it is refreshed (更新周期).
        order_by: Column that decides which of two versions of a key is newer.
        indexes: Secondary indexes, each a tuple of column names (e.g. the foreign key a
            derivation looks rows up by).
        fillfactor: Percent of each heap page filled by inserts. The room left lets a changed
            row be rewritten on its own page without touching the key index (a HOT update; why 90:
            README, "Measurements behind design choices").
        derived_from: Qualified names of the tables this one is computed from by the hub.
        aggregated: Its rows are aggregates (counts, rates) over many source rows, carrying no source
            row's personal data, so it need not be shared as strictly as its sources.
    """

    schema: str
    name: str
    code: str
    title: str
    provider: str
    summary: str
    fields: tuple[Field, ...]
    sharing: Sharing = Sharing.UNCONDITIONAL
    update_cycle: str = "hourly"
    order_by: str = "source_updated_at"
    indexes: tuple[tuple[str, ...], ...] = ()
    fillfactor: int = 90
    derived_from: tuple[str, ...] = ()
    aggregated: bool = False

    @property
    def qualified_name(self) -> str:
        """``schema.name``."""
        return f"{self.schema}.{self.name}"

    @property
    def key(self) -> tuple[str, ...]:
        """Names of the business-key columns."""
        return tuple(f.name for f in self.fields if f.key)

    @property
    def business_columns(self) -> tuple[str, ...]:
        """Names of the declared (non-lineage) columns."""
        return tuple(f.name for f in self.fields)

    @property
    def all_fields(self) -> tuple[Field, ...]:
        """Declared columns followed by the lineage columns."""
        return self.fields + LINEAGE_FIELDS

    def sharing_of(self, f: Field) -> Sharing:
        """The effective sharing attribute of field ``f``: the stricter of the resource's and the field's."""
        return max(self.sharing, f.sharing, key=lambda s: s.strictness)

    def readable_without_grant(self, f: Field) -> bool:
        """Whether every registered department reads ``f`` without a grant (masked when personal)."""
        return self.sharing_of(f) is Sharing.UNCONDITIONAL

    def field(self, name: str) -> Field:
        """Return the declared field called ``name``.

        Raises:
            KeyError: if the table has no such field.
        """
        for f in self.all_fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.qualified_name} has no field {name!r}")


def create_table_sql(table: Table) -> str:
    """Generate ``CREATE TABLE IF NOT EXISTS`` for a declared table.

    Code-table columns get a CHECK constraint listing their codes, so the store itself
    refuses a value outside the standard.
    """
    lines = []
    for f in table.all_fields:
        line = f"    {f.name} {f.sql_type}"
        if not f.nullable or f.key:
            line += " NOT NULL"
        if f.codes is not None:
            allowed = ", ".join(f"'{c}'" for c in f.codes.codes)
            line += f" CHECK ({f.name} IN ({allowed}))"
        lines.append(line)
    lines.append(f"    PRIMARY KEY ({', '.join(table.key)})")
    body = ",\n".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {table.qualified_name} (\n{body}\n) WITH (fillfactor = {table.fillfactor})"


def index_sql(table: Table) -> list[str]:
    """Generate ``CREATE INDEX IF NOT EXISTS`` for the table's declared secondary indexes."""
    return [
        f"CREATE INDEX IF NOT EXISTS {table.name}_{'_'.join(cols)}_idx ON {table.qualified_name} ({', '.join(cols)})"
        for cols in table.indexes
    ]


def comment_sql(table: Table) -> list[str]:
    """Generate COMMENT statements carrying the catalogue titles into the store."""
    stmts = [f"COMMENT ON TABLE {table.qualified_name} IS {_quote(table.title + ': ' + table.summary)}"]
    for f in table.all_fields:
        text = f.title + (f" — {f.description}" if f.description else "")
        stmts.append(f"COMMENT ON COLUMN {table.qualified_name}.{f.name} IS {_quote(text)}")
    return stmts


def staging_table_sql(table: Table, staging_name: str) -> str:
    """Generate a temporary staging table for ``table``: business columns, row digest and record locator."""
    cols = ",\n".join(f"    {f.name} {f.sql_type}" for f in table.fields)
    tail = "    record_hash text,\n    _ref text NOT NULL"
    return f"CREATE TEMP TABLE {staging_name} (\n{cols},\n{tail}\n) ON COMMIT DROP"


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a table's business columns, as the mapping must produce them."""
    import pyarrow as pa

    def arrow_type(f: Field) -> pa.DataType:
        match f.type:
            case DataType.TEXT:
                return pa.string()
            case DataType.DATE:
                return pa.date32()
            case DataType.TIMESTAMP:
                return pa.timestamp("us", tz="Asia/Shanghai")
            case DataType.DECIMAL:
                return pa.decimal128(*f.precision)
            case DataType.INTEGER:
                return pa.int64()
            case DataType.BOOLEAN:
                return pa.bool_()
        raise ValueError(f"no Arrow type for {f.type}")

    return pa.schema([pa.field(f.name, arrow_type(f), nullable=f.nullable and not f.key) for f in table.fields])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


__all__ = [
    "GB11643",
    "LINEAGE_FIELDS",
    "MASK_RULES",
    "CodeTable",
    "DataType",
    "Field",
    "Info",
    "Layout",
    "MaskRule",
    "Part",
    "PersonalClass",
    "Sharing",
    "Table",
    "arrow_schema",
    "comment_sql",
    "create_table_sql",
    "index_sql",
    "staging_table_sql",
]
