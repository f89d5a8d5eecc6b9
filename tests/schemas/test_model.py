from __future__ import annotations

import calendar
import datetime as dt

import pyarrow as pa
import pytest

from schemas.mapping import SchemaDriftError
from schemas.mappings.ga_population import MAPPING
from schemas.model import LINEAGE_FIELDS, arrow_schema, create_table_sql
from schemas.tables import TABLES
from simulators.ga import population


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_ddl_and_arrow_schema_come_from_the_declaration(table) -> None:
    ddl = create_table_sql(table)
    for f in table.fields + LINEAGE_FIELDS:
        assert f"    {f.name} {f.sql_type}" in ddl
    assert f"PRIMARY KEY ({', '.join(table.key)})" in ddl
    assert arrow_schema(table).names == list(table.business_columns)


def test_population_key_and_personal_fields() -> None:
    table = TABLES["shared.population"]
    assert table.key == ("id_number",)
    assert table.field("id_number").personal == "identifier"
    assert table.field("phone").personal == "phone"


def test_mapping_produces_the_declared_schema() -> None:
    raw, _ = population.generate(200, seed=3)
    mapped = MAPPING.apply(raw)
    assert mapped.data.schema.equals(arrow_schema(MAPPING.table), check_metadata=False)
    assert mapped.data.num_rows == 200 == len(mapped.refs)
    assert set(MAPPING.field_sources) == set(MAPPING.table.business_columns)


def test_a_missing_declared_column_fails_with_source_and_column() -> None:
    raw, _ = population.generate(10, seed=3)
    with pytest.raises(SchemaDriftError, match=r"ga_population.*LXDH"):
        MAPPING.apply(raw.drop_columns(["LXDH"]))


def test_an_extra_column_is_reported_as_drift_not_an_error() -> None:
    raw, _ = population.generate(10, seed=3)
    extra = raw.append_column("NEW_COL", pa.array(["x"] * 10))
    assert MAPPING.check_columns(extra) == ("NEW_COL",)
    assert MAPPING.apply(extra).data.num_rows == 10


def test_parse_dates_refuses_days_that_strptime_would_roll_over() -> None:
    from schemas.mapping import parse_dates

    dates, bad = parse_dates(pa.array(["2016/02/30", "2016/02/29", " ", None, "2016/13/01"]), "%Y/%m/%d")
    assert [d.isoformat() if d else None for d in dates.to_pylist()] == [None, "2016-02-29", None, None, None]
    assert bad.tolist() == [True, False, False, False, True]


@pytest.mark.parametrize("fmt", ["%Y%m%d", "%Y/%m/%d", "%Y-%m-%d"])
def test_parse_dates_knows_century_leap_years(fmt: str) -> None:
    from schemas.mapping import parse_dates

    years = list(range(1800, 2101))
    dates, bad = parse_dates(
        pa.array([fmt.replace("%Y", f"{y:04d}").replace("%m", "02").replace("%d", "29") for y in years]), fmt
    )
    assert (~bad).tolist() == [calendar.isleap(y) for y in years]
    parsed = dates.to_pylist()
    assert parsed[years.index(2000)] == dt.date(2000, 2, 29)
    assert parsed[years.index(1900)] is None and parsed[years.index(2100)] is None


def test_parse_timestamps_refuses_what_strptime_rolls_over() -> None:
    from schemas.mapping import parse_timestamps
    from schemas.mappings.yb_medical_insurance import BGSJ

    years = list(range(1800, 2101))
    stamps, bad = parse_timestamps(pa.array([f"{y:04d}-02-29 10:00:00" for y in years]), BGSJ, pa.timestamp("us"))
    assert (~bad).tolist() == [calendar.isleap(y) for y in years]
    assert stamps.to_pylist()[years.index(2000)] == dt.datetime(2000, 2, 29, 10)
    others = [
        "2026-01-01 24:00:00",
        "2026-01-01 23:60:00",
        "2026-01-01 23:59:60",
        "2026-1-1 1:2:3",
        "2026-04-31 08:00:00",
    ]
    stamps, bad = parse_timestamps(pa.array([*others, " 2026-04-30 08:00:00 ", "", None]), BGSJ, pa.timestamp("us"))
    assert bad.tolist() == [True] * len(others) + [False, False, False]
    assert stamps.to_pylist()[len(others) :] == [dt.datetime(2026, 4, 30, 8), None, None]
