"""人社 ``insured-persons`` API rows (参保信息) → ``shared.social_insurance``.

Every field arrives as a JSON string. ``cbzt`` 1/2/3 becomes ACTIVE/SUSPENDED/TERMINATED;
names are trimmed and half-width; the identity number is normalised (GB 11643, a legacy
15-digit number upgraded); empty employer fields (城乡居民, 170) become null; ``cbrq``/``fkrq``
(``YYYY-MM-DD``) become dates, ``jfjs`` (yuan, two places) a decimal and ``gxsj`` (ISO-8601 with
offset) a zone-aware timestamp. A value that does not parse fails its row with a named rule.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import text
from schemas.convert import code_map
from schemas.failure import Failure
from schemas.mapping import TIME_OF_DAY, MappedBatch, Mapping, parse_dates, parse_timestamps
from schemas.model import arrow_schema
from schemas.standards import identity, uscc
from schemas.tables.social_insurance import SOCIAL_INSURANCE

SOURCE_COLUMNS = (
    "grbh",
    "sfzhm",
    "xm",
    "xzlx",
    "cbzt",
    "dwbh",
    "dwmc",
    "tyshxydm",
    "cbrq",
    "jfjs",
    "sbkh",
    "fkrq",
    "gxsj",
)
OPTIONAL_COLUMNS = ("sbkh", "fkrq")
"""Present only once a social security card is issued (the connector fills them with null)."""
ENROLMENT_STATUS_FROM_CBZT = {"1": "ACTIVE", "2": "SUSPENDED", "3": "TERMINATED"}
DECIMAL = r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$"
TIMESTAMP = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]{TIME_OF_DAY}(\.[0-9]{{1,6}})?(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$"


def _mask(values: pa.Array) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False)


def parse_decimal(values: pa.Array | pa.ChunkedArray, precision: tuple[int, int]) -> tuple[pa.Array, np.ndarray]:
    """Decimal strings (up to two places) as decimals; also the rows holding a value that is not one."""
    clean = text.clean_code(values)
    ok = pc.match_substring_regex(clean, DECIMAL)
    usable = pc.if_else(ok, clean, pa.scalar(None, pa.string()))
    return pc.cast(usable, pa.decimal128(*precision)), _mask(pc.and_(pc.is_valid(clean), pc.invert(ok)))


def parse_timestamp(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """ISO-8601 times with an offset as Asia/Shanghai timestamps; also the rows that are not one."""
    parsed, bad = parse_timestamps(values, TIMESTAMP, pa.timestamp("us", tz="UTC"))
    return pc.cast(parsed, pa.timestamp("us", tz="Asia/Shanghai")), bad


def transform(raw: pa.Table) -> MappedBatch:
    """Map a raw ``insured-persons`` batch to ``shared.social_insurance`` columns."""
    id_number, _ = identity.normalize(raw["sfzhm"])
    status = code_map(raw["cbzt"], ENROLMENT_STATUS_FROM_CBZT)
    unknown_status = _mask(pc.and_(pc.is_valid(text.clean_code(raw["cbzt"])), pc.is_null(status)))
    enrolled, bad_enrolled = parse_dates(raw["cbrq"], "%Y-%m-%d")
    issued, bad_issued = parse_dates(raw["fkrq"], "%Y-%m-%d")
    base, bad_base = parse_decimal(raw["jfjs"], SOCIAL_INSURANCE.field("contribution_base").precision)
    updated, bad_updated = parse_timestamp(raw["gxsj"])
    columns = {
        "person_no": text.clean_code(raw["grbh"]),
        "insurance_type": text.clean_code(raw["xzlx"]),
        "id_number": id_number,
        "name": text.clean_name(raw["xm"]),
        "status": status,
        "employer_no": text.clean_code(raw["dwbh"]),
        "employer_name": text.clean_text(raw["dwmc"]),
        "employer_uscc": text.empty_to_null(uscc.normalize(raw["tyshxydm"])),
        "enrolled_on": enrolled,
        "contribution_base": base,
        "card_no": text.clean_code(raw["sbkh"]),
        "card_issued_on": issued,
        "source_updated_at": updated,
    }
    schema = arrow_schema(SOCIAL_INSURANCE)
    data = pa.Table.from_arrays([pc.cast(columns[f.name], f.type) for f in schema], schema=schema.remove_metadata())
    refs = pc.binary_join_element_wise(
        pc.fill_null(pc.cast(raw["grbh"], pa.string()), ""),
        pc.fill_null(pc.cast(raw["xzlx"], pa.string()), ""),
        pc.fill_null(pc.cast(raw["gxsj"], pa.string()), ""),
        "/",
    )
    failures = (
        Failure("status.code_table", "status", "cbzt is not one of 1, 2, 3", unknown_status),
        Failure("enrolled_on.invalid", "enrolled_on", "cbrq is not a real YYYY-MM-DD date", bad_enrolled),
        Failure("card_issued_on.invalid", "card_issued_on", "fkrq is not a real YYYY-MM-DD date", bad_issued),
        Failure("contribution_base.invalid", "contribution_base", "jfjs is not a decimal with two places", bad_base),
        Failure(
            "source_updated_at.invalid", "source_updated_at", "gxsj is not an ISO-8601 time with offset", bad_updated
        ),
    )
    return MappedBatch(data=data, refs=refs, failures=failures)


MAPPING = Mapping(
    source="rs_social_insurance",
    table=SOCIAL_INSURANCE,
    source_columns=SOURCE_COLUMNS,
    field_sources={
        "person_no": "grbh",
        "insurance_type": "xzlx",
        "id_number": "sfzhm",
        "name": "xm",
        "status": "cbzt",
        "employer_no": "dwbh",
        "employer_name": "dwmc",
        "employer_uscc": "tyshxydm",
        "enrolled_on": "cbrq",
        "contribution_base": "jfjs",
        "card_no": "sbkh",
        "card_issued_on": "fkrq",
        "source_updated_at": "gxsj",
    },
    transform=transform,
)
