"""市场监管 ``T_SCZT_DJXX`` (市场主体登记信息) → ``shared.market_entity``.

The latest GXSJ of a code wins: two versions of one code in a batch are both staged, the
store loads the newer and quarantines the older as ``superseded`` (``key.superseded_in_batch``).
A code with a wrong check character fails the declared ``gb32100`` rule; a legal
representative's failing identity number is loaded as it is (a finding, not a load rule).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from schemas import text
from schemas.convert import code_map, local_timestamps
from schemas.failure import Failure
from schemas.mapping import MappedBatch, Mapping, record_refs
from schemas.model import arrow_schema
from schemas.standards import uscc
from schemas.tables.market_entity import MARKET_ENTITY

SOURCE_COLUMNS = (
    "TYSHXYDM",
    "ZTMC",
    "ZTLX",
    "FDDBR",
    "FDDBR_ZJHM",
    "ZCZB",
    "CLRQ",
    "HZRQ",
    "DJJG",
    "DJJGDM",
    "DJZT",
    "ZS",
    "ZS_XZQHDM",
    "JYFW",
    "GXSJ",
)
STATUS_FROM_DJZT = {"1": "ACTIVE", "2": "REVOKED", "3": "CANCELLED", "4": "MOVED_OUT"}
CAPITAL_TYPE = pa.decimal128(18, 4)


def decimals(values: pa.Array | pa.ChunkedArray, type_: pa.Decimal128Type = CAPITAL_TYPE) -> pa.Array:
    """Source numerics as decimals.

    ADBC delivers PostgreSQL ``numeric`` as an opaque extension type whose storage is the
    value's text; other drivers give decimals or floats. All become ``type_``.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values.type, pa.BaseExtensionType):
        values = values.storage
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = text.clean_code(values)
    return pc.cast(values, type_)


def dates(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Source ``date`` columns (or ``YYYY-MM-DD`` text) as ``date32``."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = pc.strptime(text.clean_code(values), format="%Y-%m-%d", unit="s", error_is_null=True)
    return pc.cast(values, pa.date32())


def transform(raw: pa.Table) -> MappedBatch:
    """Map a raw ``T_SCZT_DJXX`` batch to ``shared.market_entity`` columns."""
    status = code_map(raw["DJZT"], STATUS_FROM_DJZT)
    unknown_status = pc.fill_null(pc.and_(pc.is_valid(raw["DJZT"]), pc.is_null(status)), False)
    columns = {
        "uscc": uscc.normalize(raw["TYSHXYDM"]),
        "name": text.clean_text(raw["ZTMC"]),
        "entity_type": text.clean_code(raw["ZTLX"]),
        "legal_rep": text.clean_name(raw["FDDBR"]),
        "legal_rep_id": pc.utf8_upper(text.clean_name(raw["FDDBR_ZJHM"])),
        "registered_capital": decimals(raw["ZCZB"]),
        "established_on": dates(raw["CLRQ"]),
        "approved_on": dates(raw["HZRQ"]),
        "authority_name": text.clean_text(raw["DJJG"]),
        "authority_code": uscc.normalize(raw["DJJGDM"]),
        "status": status,
        "address": text.clean_text(raw["ZS"]),
        "region_code": text.clean_code(raw["ZS_XZQHDM"]),
        "business_scope": text.clean_text(raw["JYFW"]),
        "source_updated_at": local_timestamps(raw["GXSJ"]),
    }
    schema = arrow_schema(MARKET_ENTITY)
    data = pa.Table.from_arrays([pc.cast(columns[f.name], f.type) for f in schema], schema=schema.remove_metadata())
    refs = record_refs(raw["TYSHXYDM"], raw["GXSJ"])
    failures = (
        Failure(
            "status.code_table",
            "status",
            "DJZT is not one of 1, 2, 3, 4",
            unknown_status.to_numpy(zero_copy_only=False),
        ),
    )
    return MappedBatch(data=data, refs=refs, failures=failures)


MAPPING = Mapping(
    source="sc_market_entities",
    table=MARKET_ENTITY,
    source_columns=SOURCE_COLUMNS,
    field_sources={
        "uscc": "TYSHXYDM",
        "name": "ZTMC",
        "entity_type": "ZTLX",
        "legal_rep": "FDDBR",
        "legal_rep_id": "FDDBR_ZJHM",
        "registered_capital": "ZCZB",
        "established_on": "CLRQ",
        "approved_on": "HZRQ",
        "authority_name": "DJJG",
        "authority_code": "DJJGDM",
        "status": "DJZT",
        "address": "ZS",
        "region_code": "ZS_XZQHDM",
        "business_scope": "JYFW",
        "source_updated_at": "GXSJ",
    },
    transform=transform,
    # ZCZB (numeric) arrives as ADBC's opaque type over the value's text: as text, ``decimals`` reads it the same
    raw_types={"CLRQ": pa.date32(), "HZRQ": pa.date32(), "GXSJ": pa.timestamp("us")},
)
