"""政务服务 ``T_BJ_GCXX`` (办件过程信息) → ``shared.service_case_step``, and the derived ``shared.service_case``.

Each log row is one step, keyed by its ``LSH``. After the steps merge, the load re-derives,
in the same transaction, every case the batch touched from **all** of its known steps (see
:func:`derive_cases_sql`). The case state is a function of the set of steps, never of their
arrival order, so a ``SL`` row arriving after its ``BJ`` (even in a later run) gives the same
case as steps in order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import text
from schemas.convert import code_map, local_timestamps
from schemas.failure import Failure
from schemas.mapping import Derivation, MappedBatch, Mapping
from schemas.model import arrow_schema
from schemas.standards import identity, uscc
from schemas.tables.service_case import SERVICE_CASE, SERVICE_CASE_STEP

SOURCE_COLUMNS = (
    "LSH",
    "SBLSH",
    "SXBM",
    "SXMC",
    "SQRLX",
    "SQRMC",
    "SQRZJHM",
    "SLBMDM",
    "SLBMMC",
    "QD",
    "HJ",
    "HJSJ",
    "CNBJSX",
    "BJJG",
    "MYD",
)
APPLICANT_TYPE_FROM_SQRLX = {"1": "PERSON", "2": "ORG"}
CHANNEL_FROM_QD = {"1": "WINDOW", "2": "WEB", "3": "MOBILE", "4": "KIOSK"}
RESULT_FROM_BJJG = {"1": "APPROVED", "2": "DENIED"}
STATUS_PRECEDENCE = (
    ("BJ", "COMPLETED"),
    ("CH", "WITHDRAWN"),
    ("BYSL", "NOT_ACCEPTED"),
    ("SP", "PROCESSING"),
    ("SL", "ACCEPTED"),
    ("SQ", "SUBMITTED"),
)
"""A case's status is that of the first step kind in this list that it has."""


def _unknown(raw: pa.ChunkedArray | pa.Array, mapped: pa.Array) -> np.ndarray:
    """Rows whose source code is present but maps to nothing."""
    present = pc.is_valid(text.clean_code(raw))
    return pc.fill_null(pc.and_(present, pc.is_null(mapped)), False).to_numpy(zero_copy_only=False)


def _applicant_ids(values: pa.Array | pa.ChunkedArray, applicant_type: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Applicant numbers cleaned; a person's identity number normalised like every source's (GB 11643).

    Only a person's number is an identity number: an organisation's 15-digit number is a
    registration number, never upgraded. Returns the numbers and the rows upgraded from a
    legacy 15-digit identity number.
    """
    person = pc.fill_null(pc.equal(applicant_type, "PERSON"), False)
    normalized, legacy = identity.normalize(values)
    numbers = pc.if_else(person, normalized, pc.utf8_upper(text.clean_name(values)))
    return text.empty_to_null(numbers), legacy & person.to_numpy(zero_copy_only=False)


def transform(raw: pa.Table) -> MappedBatch:
    """Map a raw ``T_BJ_GCXX`` batch to ``shared.service_case_step`` columns."""
    applicant_type = code_map(raw["SQRLX"], APPLICANT_TYPE_FROM_SQRLX)
    channel = code_map(raw["QD"], CHANNEL_FROM_QD)
    result = code_map(raw["BJJG"], RESULT_FROM_BJJG)
    satisfaction = pc.cast(raw["MYD"], pa.int64())
    out_of_range = pc.fill_null(pc.or_(pc.less(satisfaction, 1), pc.greater(satisfaction, 5)), False)
    step_at = local_timestamps(raw["HJSJ"])
    applicant_id, legacy = _applicant_ids(raw["SQRZJHM"], applicant_type)
    columns = {
        "step_no": pc.cast(raw["LSH"], pa.int64()),
        "case_no": text.clean_code(raw["SBLSH"]),
        "item_code": text.clean_code(raw["SXBM"]),
        "item_name": text.clean_text(raw["SXMC"]),
        "applicant_type": applicant_type,
        "applicant_name": text.clean_text(raw["SQRMC"]),
        "applicant_id": applicant_id,
        "dept_code": uscc.normalize(raw["SLBMDM"]),
        "dept_name": text.clean_text(raw["SLBMMC"]),
        "channel": channel,
        "step": pc.utf8_upper(text.clean_code(raw["HJ"])),
        "step_at": step_at,
        "promised_days": pc.cast(raw["CNBJSX"], pa.int64()),
        "result": result,
        "satisfaction": satisfaction,
        # the log is append-only: a step's time is its version
        "source_updated_at": step_at,
        "quality_flags": pa.array(np.where(legacy, "legacy_id_upgraded", None), pa.string()),
    }
    schema = arrow_schema(SERVICE_CASE_STEP)
    data = pa.Table.from_arrays([pc.cast(columns[f.name], f.type) for f in schema], schema=schema.remove_metadata())
    refs = pc.binary_join_element_wise(
        pc.fill_null(pc.cast(raw["SBLSH"], pa.string()), ""), pc.cast(raw["LSH"], pa.string()), "#LSH="
    )
    failures = (
        Failure(
            "applicant_type.code_table",
            "applicant_type",
            "SQRLX is not 1 or 2",
            _unknown(raw["SQRLX"], applicant_type),
        ),
        Failure("channel.code_table", "channel", "QD is not one of 1, 2, 3, 4", _unknown(raw["QD"], channel)),
        Failure("result.code_table", "result", "BJJG is not 1 or 2", _unknown(raw["BJJG"], result)),
        Failure(
            "satisfaction.range", "satisfaction", "MYD is outside 1-5", out_of_range.to_numpy(zero_copy_only=False)
        ),
    )
    return MappedBatch(data=data, refs=refs, failures=failures)


def derive_cases_sql(staging: str) -> str:
    """Re-derive ``shared.service_case`` for every case with a step in ``staging``, from all its steps.

    Every derived value is a function of the set of the case's steps: case attributes from its
    ``SQ`` step (else its earliest step), each timestamp from the earliest step of its kind
    (submitted ``SQ``, accepted ``SL``, completed ``BJ``), the result from the earliest ``BJ``
    with one, satisfaction from the latest evaluation, ``version`` the number of steps,
    ``last_step_no`` the highest ``LSH``. A case row is rewritten only when it changed.
    """
    steps = SERVICE_CASE_STEP.qualified_name
    status = " ".join(f"WHEN bool_or(step = '{hj}') THEN '{st}'" for hj, st in STATUS_PRECEDENCE)
    cols = SERVICE_CASE.business_columns
    hashed = ", ".join(f"d.{c}" for c in cols if c != SERVICE_CASE.order_by)
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*cols, "source_system", "batch_id", "loaded_at", "record_hash"))
    return f"""
WITH affected AS (SELECT DISTINCT case_no FROM {staging}),
steps AS (SELECT s.* FROM {steps} s JOIN affected a ON s.case_no = a.case_no),
head AS (
    SELECT DISTINCT ON (case_no) case_no, item_code, item_name, applicant_type, applicant_name, applicant_id,
           dept_code, dept_name, channel, promised_days, quality_flags
    FROM steps ORDER BY case_no, (step = 'SQ') DESC, step_at, step_no
),
agg AS (
    SELECT case_no,
           count(*)::bigint AS version,
           CASE {status} END AS status,
           min(step_at) FILTER (WHERE step = 'SQ') AS submitted_at,
           min(step_at) FILTER (WHERE step = 'SL') AS accepted_at,
           min(step_at) FILTER (WHERE step = 'BJ') AS completed_at,
           (array_agg(result ORDER BY step_at, step_no) FILTER (WHERE step = 'BJ' AND result IS NOT NULL))[1]
               AS result,
           (array_agg(satisfaction ORDER BY step_at DESC, step_no DESC)
               FILTER (WHERE satisfaction IS NOT NULL))[1] AS satisfaction,
           max(step_no) AS last_step_no,
           max(source_updated_at) AS source_updated_at
    FROM steps GROUP BY case_no
),
derived AS (
    SELECT {", ".join(f"d.{c}" for c in cols)}, md5(ROW({hashed})::text) AS record_hash
    FROM (SELECT h.*, a.version, a.status, a.submitted_at, a.accepted_at, a.completed_at, a.result,
                 a.satisfaction, a.last_step_no, a.source_updated_at
          FROM head h JOIN agg a ON a.case_no = h.case_no) d
),
written AS (
    INSERT INTO {SERVICE_CASE.qualified_name} AS t ({", ".join(cols)}, source_system, batch_id, loaded_at, record_hash)
    SELECT {", ".join(cols)}, $1, $2, now(), record_hash FROM derived
    ON CONFLICT (case_no) DO UPDATE SET {updates}
    WHERE t.record_hash IS DISTINCT FROM excluded.record_hash
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"""


MAPPING = Mapping(
    source="zw_cases",
    table=SERVICE_CASE_STEP,
    source_columns=SOURCE_COLUMNS,
    field_sources={
        "step_no": "LSH",
        "case_no": "SBLSH",
        "item_code": "SXBM",
        "item_name": "SXMC",
        "applicant_type": "SQRLX",
        "applicant_name": "SQRMC",
        "applicant_id": "SQRZJHM",
        "dept_code": "SLBMDM",
        "dept_name": "SLBMMC",
        "channel": "QD",
        "step": "HJ",
        "step_at": "HJSJ",
        "promised_days": "CNBJSX",
        "result": "BJJG",
        "satisfaction": "MYD",
        "source_updated_at": "HJSJ (the log is append-only)",
        "quality_flags": "SQRZJHM (a person's legacy 15-digit number upgraded)",
    },
    transform=transform,
    derived=(Derivation(table=SERVICE_CASE, sql=derive_cases_sql),),
    raw_types={"LSH": pa.int64(), "HJSJ": pa.timestamp("us"), "CNBJSX": pa.int32(), "MYD": pa.int16()},
)
