"""The 人社 mapping: codes, hygiene, typed dates/decimals/timestamps, and named failures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from quality.rules import validate
from schemas.mapping import SchemaDriftError
from schemas.mappings.rs_social_insurance import MAPPING, SOURCE_COLUMNS
from schemas.tables.social_insurance import SOCIAL_INSURANCE

ROW = {
    "grbh": "6401000000000001", "sfzhm": "11010519491231002X", "xm": " 王\u3000芳 ", "xzlx": "110", "cbzt": "1",
    "dwbh": "64010000000001", "dwmc": "宁夏塞上商贸１有限公司", "tyshxydm": "91640104MAELNPMM5M",
    "cbrq": "2015-03-01", "jfjs": "5432.10", "sbkh": "A01234567", "fkrq": "2016-01-02",
    "gxsj": "2024-03-05T10:22:00+08:00",
}  # fmt: skip


def raw(*rows: dict) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in SOURCE_COLUMNS})


def test_a_good_row_is_typed_and_cleaned() -> None:
    resident = ROW | {"xzlx": "170", "cbzt": "3", "dwbh": "", "dwmc": "", "tyshxydm": "", "sbkh": None, "fkrq": None}
    out = MAPPING.apply(raw(ROW, resident)).data.to_pylist()
    assert out[0]["name"] == "王芳" and out[0]["employer_name"] == "宁夏塞上商贸1有限公司"
    assert out[0]["status"] == "ACTIVE" and out[1]["status"] == "TERMINATED"
    assert out[0]["contribution_base"] == Decimal("5432.10")
    assert out[0]["enrolled_on"] == dt.date(2015, 3, 1) and out[0]["card_issued_on"] == dt.date(2016, 1, 2)
    assert out[0]["source_updated_at"] == dt.datetime(2024, 3, 5, 2, 22, tzinfo=dt.UTC)
    assert out[1]["employer_no"] is None and out[1]["employer_uscc"] is None and out[1]["card_no"] is None


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("cbzt", "9", "status.code_table"),
        ("jfjs", "12,5", "contribution_base.invalid"),
        ("cbrq", "2015/03/01", "enrolled_on.invalid"),
        ("fkrq", "2016-02-30", "card_issued_on.invalid"),
        ("gxsj", "2024-03-05 10:22", "source_updated_at.invalid"),
        ("sfzhm", "110105194912310021", "id_number.checksum"),
    ],
)
def test_a_bad_value_fails_its_row_with_a_named_rule(field: str, value: str, rule: str) -> None:
    mapped = MAPPING.apply(raw(ROW, ROW | {field: value}))
    verdict = validate(SOCIAL_INSURANCE, mapped.data, today=dt.date(2026, 11, 2), extra=mapped.failures)
    assert verdict.rejected.tolist() == [False, True]
    assert rule in verdict.counts()


def test_a_declared_column_gone_fails_the_batch() -> None:
    with pytest.raises(SchemaDriftError, match="tyshxydm"):
        MAPPING.apply(raw(ROW).drop_columns(["tyshxydm"]))
