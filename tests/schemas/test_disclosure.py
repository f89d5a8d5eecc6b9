"""Masking survives combination and derived tables inherit their sources' class, over every declared table."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from stdnum.cn import ric

from schemas import disclosure
from schemas.model import GB11643, Info, PersonalClass, Sharing, Table
from schemas.tables import TABLES


def _with_field(table: Table, name: str, **changes: object) -> Table:
    fields = tuple(dataclasses.replace(f, **changes) if f.name == name else f for f in table.fields)
    return dataclasses.replace(table, fields=fields)


def _declared(**replaced: Table) -> list[Table]:
    return list({**TABLES, **{t.qualified_name: t for t in replaced.values()}}.values())


def test_the_declarations_have_no_disclosure_or_derivation_problem() -> None:
    assert disclosure.problems(TABLES.values()) == []


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_nothing_readable_without_a_grant_carries_what_a_mask_of_this_table_hides(table: Table) -> None:
    # everything every department reads without a grant, over all tables (a second table can leak too)
    open_fields = [(t, f) for t in TABLES.values() for f in t.fields if t.readable_without_grant(f)]
    readable = set().union(*(disclosure.exposed(t, f) for t, f in open_fields))
    for f in table.fields:
        if f.personal is not PersonalClass.NONE:
            assert f.carries, f"{f.name} is personal but says nothing of what it carries"
            kept = disclosure.protected(table, f)
            assert kept, f"{f.name} keeps nothing back"
            assert not kept & readable, f"{table.qualified_name}.{f.name}: {kept & readable} readable elsewhere"


@pytest.mark.parametrize(
    ("region", "born", "seq"), [("640104", dt.date(1990, 1, 1), "123"), ("110105", dt.date(1948, 12, 31), "046")]
)
def test_the_identity_number_layout_is_where_the_standard_puts_it(region: str, born: dt.date, seq: str) -> None:
    body = region + born.strftime("%Y%m%d") + seq
    id_number = body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check character
    assert ric.calc_check_digit(id_number) == id_number[-1]  # stdnum is the oracle for the standard
    parts = {p.info: id_number[p.start - 1 : p.end] for p in GB11643.parts}
    assert GB11643.length == len(id_number)
    assert parts[Info.BIRTH_DATE] == ric.get_birth_date(id_number).strftime("%Y%m%d")
    assert parts[Info.BIRTH_YEAR] == str(born.year) and parts[Info.REGION] == region
    assert parts[Info.SEX] == seq[-1]  # odd = male under GB 11643


def test_the_identifier_mask_hides_the_birth_date_and_shows_region_and_sex() -> None:
    f = TABLES["shared.population"].field("id_number")
    assert disclosure.hidden_by_mask(f) == {Info.ID_NUMBER, Info.BIRTH_DATE, Info.BIRTH_YEAR}
    assert disclosure.shown_by_mask(f) == {Info.REGION, Info.SEX}


def test_a_clear_birth_date_next_to_the_masked_identity_number_is_reported() -> None:
    pop = _with_field(TABLES["shared.population"], "birth_date", sharing=Sharing.UNCONDITIONAL)
    found = disclosure.combination_problems(_declared(p=pop))
    assert any("population.birth_date" in p and "population.id_number" in p for p in found)


def test_a_birth_year_only_would_not_be_enough() -> None:
    # the mask shows the check character, so a birth year leaves ~33 candidates per person
    pop = _with_field(
        TABLES["shared.population"], "birth_date", sharing=Sharing.UNCONDITIONAL, carries=(Info.BIRTH_YEAR,)
    )
    found = disclosure.combination_problems(_declared(p=pop))
    assert any("population.birth_date" in p and "birth_year" in p for p in found)


def test_an_unconditional_e_certificate_is_reported_twice_over() -> None:
    cert = dataclasses.replace(TABLES["shared.e_certificate"], sharing=Sharing.UNCONDITIONAL)
    tables = _declared(c=cert)
    derivation = disclosure.derivation_problems(tables)
    assert "shared.e_certificate is unconditional but derived from shared.social_insurance, which is conditional" in (
        derivation
    )
    combination = disclosure.combination_problems(tables)
    assert any(
        p.startswith("shared.e_certificate.certificate_id") and "social_insurance.person_no" in p for p in combination
    )
    assert any(p.startswith("shared.e_certificate.issue_date") and "card_issued_on" in p for p in combination)


def test_a_derived_field_cannot_be_less_personal_or_carry_less_than_its_source() -> None:
    cert = _with_field(TABLES["shared.e_certificate"], "holder_name", personal=PersonalClass.NONE, carries=())
    found = disclosure.derivation_problems(_declared(c=cert))
    assert (
        "shared.e_certificate.holder_name is not personal but derived from shared.social_insurance.name, which is name"
        in found
    )
    assert any("holder_name" in p and "does not declare that it carries ['person_name']" in p for p in found)


def test_a_derived_field_cannot_be_less_strictly_shared_than_its_source() -> None:
    case = dataclasses.replace(TABLES["shared.service_case"], sharing=Sharing.UNCONDITIONAL)
    found = disclosure.derivation_problems(_declared(c=case))
    assert any(p.startswith("shared.service_case is unconditional but derived") for p in found)
    assert any(p.startswith("shared.service_case.applicant_id is unconditional") for p in found)


def test_an_aggregated_table_may_not_hold_a_personal_field() -> None:
    eff = TABLES["shared.service_efficiency"]
    assert eff.aggregated and eff.sharing is Sharing.UNCONDITIONAL
    leaky = _with_field(eff, "dept_name", personal=PersonalClass.NAME, carries=(Info.PERSON_NAME,))
    found = disclosure.derivation_problems(_declared(e=leaky))
    assert found == ["shared.service_efficiency.dept_name is in an aggregated table but personal or derived row by row"]


def test_an_undeclared_source_is_reported() -> None:
    cert = _with_field(TABLES["shared.e_certificate"], "status", derived_from=("shared.nowhere.status",))
    assert "shared.e_certificate.status is derived from shared.nowhere.status, which is not declared" in (
        disclosure.derivation_problems(_declared(c=cert))
    )
