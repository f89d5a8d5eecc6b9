"""医保 ``YB_CBXX_<YYYYMMDD>.csv`` (参保信息) → ``shared.medical_insurance``.

Every source column arrives as text (the file drop connector reads CSV as strings), plus the
connector's lineage columns ``_file`` and ``_record``: the file becomes ``source_file`` and the
record locator is ``<file>:<record number>``, which also orders two versions of one key with the
same 变更时间 (the later file wins).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.file_drop import FILE_COLUMN, LINEAGE_COLUMNS, RECORD_COLUMN
from schemas import text
from schemas.convert import SOURCE_TIMEZONE, code_map
from schemas.failure import Failure
from schemas.mapping import TIME_OF_DAY, MappedBatch, Mapping, parse_dates, parse_timestamps
from schemas.model import arrow_schema
from schemas.standards import identity
from schemas.tables.medical_insurance import MEDICAL_INSURANCE

HEADER = (
    "人员编号",
    "身份证号",
    "姓名",
    "险种类型",
    "参保状态",
    "参保单位代码",
    "参保单位名称",
    "参保日期",
    "变更时间",
)
"""The file's header as departments.md specifies it."""
BGSJ = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}} {TIME_OF_DAY}$"
"""变更时间 as departments.md gives it: ``YYYY-MM-DD HH:MM:SS``."""
STATUS_FROM_CBZT: dict[str, str] = {"1": "ACTIVE", "2": "SUSPENDED", "4": "TERMINATED"}
"""参保状态 1 参保, 2 暂停, 4 终止 (医保 has no 3)."""


def _unparsed(source: pa.Array | pa.ChunkedArray, parsed: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Rows with a source value that did not parse."""
    return pc.fill_null(pc.and_(pc.is_valid(source), pc.is_null(parsed)), False).to_numpy(zero_copy_only=False)


def transform(raw: pa.Table) -> MappedBatch:
    """Map a raw batch of a 医保 file to ``shared.medical_insurance`` columns."""
    id_number, _legacy = identity.normalize(raw["身份证号"])
    enrolled, bad_enrolled = parse_dates(raw["参保日期"], "%Y/%m/%d")
    naive, bad_bgsj = parse_timestamps(raw["变更时间"], BGSJ, pa.timestamp("us"))
    updated = pc.assume_timezone(naive, timezone=SOURCE_TIMEZONE, ambiguous="earliest", nonexistent="earliest")
    status = code_map(raw["参保状态"], STATUS_FROM_CBZT)
    columns = {
        "person_no": text.clean_code(raw["人员编号"]),
        "insurance_type": text.clean_code(raw["险种类型"]),
        "id_number": id_number,
        "name": text.clean_name(raw["姓名"]),
        "status": status,
        "employer_uscc": pc.utf8_upper(text.clean_code(raw["参保单位代码"])),
        "employer_name": text.clean_text(raw["参保单位名称"]),
        "enrolled_on": enrolled,
        "source_file": raw[FILE_COLUMN],
        "source_updated_at": updated,
    }
    schema = arrow_schema(MEDICAL_INSURANCE)
    data = pa.Table.from_arrays([pc.cast(columns[f.name], f.type) for f in schema], schema=schema.remove_metadata())
    number = pc.utf8_lpad(pc.cast(raw[RECORD_COLUMN], pa.string()), width=9, padding="0")
    refs = pc.binary_join_element_wise(raw[FILE_COLUMN], number, ":")
    failures = (
        Failure("enrolled_on.invalid", "enrolled_on", "参保日期 is not a real YYYY/MM/DD date", bad_enrolled),
        Failure(
            "source_updated_at.invalid",
            "source_updated_at",
            "变更时间 is not a real YYYY-MM-DD HH:MM:SS time",
            bad_bgsj,
        ),
        Failure("status.code_table", "status", "参保状态 is not one of 1, 2, 4", _unparsed(raw["参保状态"], status)),
    )
    return MappedBatch(data=data, refs=refs, failures=failures)


MAPPING = Mapping(
    source="yb_medical_insurance",
    table=MEDICAL_INSURANCE,
    source_columns=HEADER + LINEAGE_COLUMNS,
    field_sources={
        "person_no": "人员编号",
        "insurance_type": "险种类型",
        "id_number": "身份证号 (legacy 15-digit upgraded)",
        "name": "姓名",
        "status": "参保状态 (1/2/4 → ACTIVE/SUSPENDED/TERMINATED)",
        "employer_uscc": "参保单位代码",
        "employer_name": "参保单位名称",
        "enrolled_on": "参保日期 (YYYY/MM/DD)",
        "source_file": "_file (the delivered file's name)",
        "source_updated_at": "变更时间 (Asia/Shanghai)",
    },
    transform=transform,
    raw_types={RECORD_COLUMN: pa.int64()},  # every CSV field is text, 变更时间 included
)
