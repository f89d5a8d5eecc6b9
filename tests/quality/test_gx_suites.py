"""GX suites derived from the declarations, run on the real store, with Data Docs."""

from __future__ import annotations

import datetime as dt

import psycopg
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from hub import registry
from hub.pipeline import run_ingest
from hub.settings import hub_home
from quality import gx_suites
from schemas.tables import TABLES
from tests.quality.shared_rows import insert
from tests.quality.test_findings import _org_check, _person
from tests.schemas.test_identity import id_candidates
from tests.schemas.test_uscc import ALPHA

TODAY = dt.date(2026, 11, 23)


def _sql_verdicts(uri: str, predicate: str, values: list[str]) -> list[bool]:
    literals = ", ".join(f"('{v}')" for v in values)  # test constants only
    with psycopg.connect(uri) as conn:
        rows = conn.execute(f"SELECT {predicate} FROM (VALUES {literals}) AS t(v)").fetchall()
    return [r[0] for r in rows]


def test_check_digit_sql_agrees_with_stdnum(store: str) -> None:
    from stdnum.cn import ric, uscc

    ids = ["11010519491231002X", "110105194912310021", "640104199001011234", "640104199001011235"]
    usccs = ["91110000600037341L", "91110000600037341M", "91110000600037342L", "91640100MA76X1234A"]
    assert _sql_verdicts(store, gx_suites.gb11643_mismatch_sql("v"), ids) == [
        ric.calc_check_digit(i) != i[-1] for i in ids
    ]
    assert _sql_verdicts(store, gx_suites.gb32100_mismatch_sql("v"), usccs) == [not uscc.is_valid(u) for u in usccs]
    assert _sql_verdicts(store, gx_suites.gb32100_mismatch_sql("v"), usccs)[:3] == [False, True, True]


@st.composite
def _org_codes(draw: st.DrawFn) -> str:
    head = draw(st.text("0123456789", min_size=8, max_size=8))
    body = draw(st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8))
    first17 = head + body + _org_check(body)
    last = draw(st.sampled_from(ALPHA))
    return first17 + (stdnum_uscc.calc_check_digit(first17) if draw(st.booleans()) else last)


def test_check_digit_sql_agrees_with_stdnum_on_many_codes(store: str) -> None:
    from stdnum.cn import ric, uscc

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(id_candidates(), min_size=1, max_size=40), st.lists(_org_codes(), min_size=1, max_size=40))
    def check(ids: list[str], codes: list[str]) -> None:
        assert _sql_verdicts(store, gx_suites.gb11643_mismatch_sql("v"), ids) == [
            ric.calc_check_digit(i) != i[-1] for i in ids
        ]
        assert _sql_verdicts(store, gx_suites.gb32100_mismatch_sql("v"), codes) == [not uscc.is_valid(c) for c in codes]

    check()


def test_every_table_gets_a_derived_suite() -> None:
    for table in TABLES.values():
        suite = gx_suites.suite_for(table, TODAY)
        types = {e.expectation_type for e in suite.expectations}
        not_null = {e.column for e in suite.expectations if e.expectation_type == "expect_column_values_to_not_be_null"}
        assert {f.name for f in table.fields if not f.nullable} <= not_null
        assert any(t.endswith("unique") for t in types)
        assert {f.name for f in table.fields if f.codes} == {
            e.column for e in suite.expectations if e.expectation_type == "expect_column_values_to_be_in_set"
        }


def test_checkpoint_validates_the_store_and_writes_data_docs(store: str, ga_source) -> None:
    run_ingest(registry.get("ga_population"), "run-1", store=store, today=TODAY)
    result = gx_suites.run(store, today=TODAY, home=hub_home())
    assert {s.table for s in result.suites} == set(TABLES)
    population = next(s for s in result.suites if s.table == "shared.population")
    assert population.success, population.failed
    html = result.docs_index.read_text(encoding="utf-8")
    for name in TABLES:
        assert name in html
    assert "quality report" in result.report_page.read_text(encoding="utf-8")
    config = yaml.safe_load(
        (gx_suites.gx_root(hub_home()) / "gx" / "great_expectations.yml").read_text(encoding="utf-8")
    )
    assert config["progress_bars"] == {"globally": False, "metric_calculations": False}


def test_a_bad_stored_row_fails_its_suite_by_name(store: str) -> None:
    good = "11010519491231002X"
    malformed = "11010519491231003Y"
    rows = [_person(good, "NORMAL"), _person(good[:17] + "1", "NORMAL"), _person(malformed, "NORMAL")]
    insert(store, "shared.population", rows)
    result = gx_suites.run(store, [TABLES["shared.population"]], today=TODAY, home=hub_home())
    (population,) = result.suites
    assert not population.success
    assert sorted(population.failed) == [
        "expect_column_values_to_match_regex(id_number)",
        "id_number: GB 11643-1999 check character matches",
    ]
    pages = [p.read_text(encoding="utf-8") for p in gx_suites.docs_dir(hub_home()).rglob("*.html")]
    assert pages and not any(malformed in page for page in pages)  # counts only, no identity number


def test_stored_text_with_invisible_characters_or_too_long_fails_its_suite(store: str) -> None:
    ids = [b + ric.calc_check_digit(b + "0") for b in ("11010519491231002", "11010519500101002", "11010519500102002")]
    rows = [
        _person(ids[0], "NORMAL") | {"name": "张\u200b三"},
        _person(ids[1], "NORMAL") | {"address": "宁夏\u202e银川"},
        _person(ids[2], "NORMAL") | {"name": "张" * 51},
    ]
    insert(store, "shared.population", rows)
    result = gx_suites.run(store, [TABLES["shared.population"]], today=TODAY, home=hub_home())
    (population,) = result.suites
    assert not population.success
    assert sorted(population.failed) == [
        "expect_column_value_lengths_to_be_between(name)",
        "expect_column_values_to_not_match_regex(address)",
        "expect_column_values_to_not_match_regex(name)",
    ]


def test_the_one_hygiene_pattern_refuses_exactly_what_the_rules_refuse(store: str) -> None:
    """The stored-data pattern (PostgreSQL's regex engine) against the row rules (RE2 over Arrow), value by value."""
    from tests.quality.test_rules import ALLOWED_NEIGHBOURS, HYGIENE_CASES, POPULATION, _failed
    from tests.quality.test_rules import _person as _rules_person

    inside = [ch for chars in HYGIENE_CASES.values() for ch in chars if ch != "\x00"]  # text cannot store NUL
    names = [f"张{ch}三" for ch in [*inside, *ALLOWED_NEIGHBOURS]]
    names += [" 张三", "张三 ", "张三\u3000", "\u3000张三", "张Ａ三", "张～三", "张\uff5f三", "张三", "阿依古丽·买买提"]
    refused = [
        any(r != "name.too_long" for r in rules)
        for rules in _failed(POPULATION, [_rules_person(name=n) for n in names])
    ]
    with psycopg.connect(store) as conn:
        matched = [conn.execute("SELECT %s ~ %s", (n, gx_suites.HYGIENE_REGEX)).fetchone()[0] for n in names]
    assert matched == refused
    assert sum(refused) == len(inside) + 6  # every forbidden class is represented, and the clean names pass
