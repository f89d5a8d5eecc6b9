"""公安 ``T_RK_JBXX`` (人口基本信息) → ``shared.population``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import text
from schemas.codes import PERSON_STATUS_FROM_RYZT
from schemas.convert import code_map, local_timestamps
from schemas.failure import Failure
from schemas.mapping import MappedBatch, Mapping, parse_dates, record_refs
from schemas.model import arrow_schema
from schemas.standards import identity
from schemas.tables.population import POPULATION

SOURCE_COLUMNS = ("GMSFHM", "XM", "XB", "MZ", "CSRQ", "HJDZ_XZQHDM", "HJDZ_XZ", "LXDH", "RYZT", "GXSJ")


def transform(raw: pa.Table) -> MappedBatch:
    """Map a raw ``T_RK_JBXX`` batch to ``shared.population`` columns."""
    id_number, legacy = identity.normalize(raw["GMSFHM"])
    birth_date, unparseable = parse_dates(raw["CSRQ"], "%Y%m%d")
    status = code_map(raw["RYZT"], PERSON_STATUS_FROM_RYZT)
    unknown_status = pc.fill_null(pc.and_(pc.is_valid(raw["RYZT"]), pc.is_null(status)), False).to_numpy(
        zero_copy_only=False
    )
    updated = local_timestamps(raw["GXSJ"])
    flags = pa.array(np.where(legacy, "legacy_id_upgraded", None), pa.string())
    columns = {
        "id_number": id_number,
        "name": text.clean_name(raw["XM"]),
        "gender": text.clean_code(raw["XB"]),
        "ethnicity": text.clean_code(raw["MZ"]),
        "birth_date": birth_date,
        "region_code": text.clean_code(raw["HJDZ_XZQHDM"]),
        "address": text.clean_text(raw["HJDZ_XZ"]),
        "phone": text.clean_code(raw["LXDH"]),
        "status": status,
        "source_updated_at": updated,
        "quality_flags": flags,
    }
    schema = arrow_schema(POPULATION)
    data = pa.Table.from_arrays([pc.cast(columns[f.name], f.type) for f in schema], schema=schema.remove_metadata())
    refs = record_refs(raw["GMSFHM"], raw["GXSJ"])
    failures = (
        Failure("birth_date.invalid", "birth_date", "CSRQ is not a real YYYYMMDD date", unparseable),
        Failure("status.code_table", "status", "RYZT is not one of 0, 1, 2, 3", unknown_status),
    )
    return MappedBatch(data=data, refs=refs, failures=failures)


MAPPING = Mapping(
    source="ga_population",
    table=POPULATION,
    source_columns=SOURCE_COLUMNS,
    field_sources={
        "id_number": "GMSFHM",
        "name": "XM",
        "gender": "XB",
        "ethnicity": "MZ",
        "birth_date": "CSRQ",
        "region_code": "HJDZ_XZQHDM",
        "address": "HJDZ_XZ",
        "phone": "LXDH",
        "status": "RYZT",
        "source_updated_at": "GXSJ",
        "quality_flags": "GMSFHM (legacy 15-digit upgrade)",
    },
    transform=transform,
    raw_types={"GXSJ": pa.timestamp("us")},
)
