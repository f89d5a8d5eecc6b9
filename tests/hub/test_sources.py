"""Every source declaration agrees with its mapping, and the two are named alike."""

from __future__ import annotations

import dataclasses

import pytest

from connectors.settings import FileDrop, SqlTable
from hub.registry import SOURCES, DeclarationError, SourceSpec, WaitForFile, get
from hub.settings import PROJECT_ROOT


@pytest.mark.parametrize("spec", SOURCES, ids=[s.name for s in SOURCES])
def test_the_declared_tables_are_the_mappings(spec: SourceSpec) -> None:
    mapping = spec.load_mapping()  # raises DeclarationError naming both sides when they differ
    assert mapping.source == spec.name
    assert spec.tables == (mapping.table.qualified_name, *(d.table.qualified_name for d in mapping.derived))


def test_every_table_a_source_feeds_is_a_declared_standard_table() -> None:
    from schemas.tables import TABLES

    undeclared = {s.name: t for s in SOURCES for t in s.tables if t not in TABLES}
    assert undeclared == {}, "declare the table in schemas/tables/ and list it in TABLES"


def test_each_mapping_module_is_named_after_its_source() -> None:
    assert [s.mapping for s in SOURCES] == [f"schemas.mappings.{s.name}:MAPPING" for s in SOURCES]
    modules = {p.stem for p in (PROJECT_ROOT / "schemas" / "mappings").glob("*.py")} - {"__init__"}
    assert modules == {s.name for s in SOURCES}, "a module in schemas/mappings/ that is no source's mapping"


def test_a_declared_table_that_is_not_the_mappings_is_refused() -> None:
    wrong = dataclasses.replace(get("ga_population"), table="shared.market_entity")
    with pytest.raises(
        DeclarationError, match=r"declared tables shared\.market_entity but mapping \S+ feeds shared\.population"
    ):
        wrong.load_mapping()
    missing_derived = dataclasses.replace(get("zw_cases"), extra_tables=())
    with pytest.raises(DeclarationError, match=r"feeds shared\.service_case_step, shared\.service_case"):
        missing_derived.load_mapping()


def test_another_sources_mapping_is_refused() -> None:
    borrowed = dataclasses.replace(get("ga_population"), name="ga_population_copy", mapping="")
    assert borrowed.mapping == "schemas.mappings.ga_population_copy:MAPPING"
    borrowed = dataclasses.replace(borrowed, mapping="schemas.mappings.ga_population:MAPPING")
    with pytest.raises(DeclarationError, match="declared for 'ga_population'"):
        borrowed.load_mapping()


def test_a_file_sensor_needs_an_inbox() -> None:
    with pytest.raises(DeclarationError, match="WaitForFile sensor needs a FileDrop connector"):
        SourceSpec(
            name="x",
            department="GA",
            title="x",
            connector=SqlTable(table="T", cursor_column="GXSJ", tiebreak_column="ID"),
            sensor=WaitForFile(path="x.ok"),
            table="shared.population",
            schedule="@daily",
        )
    spec = SourceSpec(
        name="x", department="GA", title="x", connector=FileDrop(pattern="*.csv"), table="t", schedule="@daily"
    )
    assert (spec.conn_id, spec.sensor) == ("x", None)


def test_the_connector_kind_must_be_a_typed_setting() -> None:
    with pytest.raises(DeclarationError, match="is not a connector kind"):
        SourceSpec(
            name="x",
            department="GA",
            title="x",
            connector={"table": "T"},  # type: ignore[arg-type]
            table="t",
            schedule="@daily",
        )
