"""Column rules attached in the declarations: each dirt kind fails under its own rule name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from stdnum.cn import ric

from hub import registry
from hub.pipeline import run_ingest
from hub.store.load import LoadTransaction
from quality.findings import run_checks
from quality.rules import RULES, validate
from schemas import text
from schemas.model import arrow_schema
from schemas.tables import TABLES
from schemas.tables.market_entity import MARKET_ENTITY
from schemas.tables.population import POPULATION
from schemas.tables.social_insurance import SOCIAL_INSURANCE
from simulators.city import CityPlan, persons
from simulators.sc import entities

TODAY = dt.date(2026, 11, 23)


def _batch(table, rows: list[dict]) -> pa.Table:
    schema = arrow_schema(table)
    return pa.Table.from_pylist(rows, schema=schema)


def _person(**overrides: object) -> dict:
    row = {
        "id_number": "11010519491231002X",
        "name": "张三",
        "gender": "2",
        "ethnicity": "01",
        "birth_date": dt.date(1949, 12, 31),
        "region_code": "640104",
        "address": "宁夏银川市兴庆区解放西街1号",
        "phone": None,
        "status": "NORMAL",
        "source_updated_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        "quality_flags": None,
    }
    return row | overrides


def _failed(table, rows: list[dict]) -> list[set[str]]:
    verdict = validate(table, _batch(table, rows), today=TODAY)
    return [{f.rule for f in verdict.failures if f.mask[i]} for i in range(len(rows))]


def test_a_required_text_field_fails_when_null_or_empty() -> None:
    """Null as well as empty: ``clean_text`` turns an empty value into null (found by the toy source)."""
    assert _failed(POPULATION, [_person(name=None), _person(name=""), _person()]) == [
        {"name.required"},
        {"name.required"},
        set(),
    ]


def test_every_declared_rule_is_registered() -> None:
    for table in TABLES.values():
        for f in table.fields:
            assert set(f.rules) <= set(RULES), f"{table.qualified_name}.{f.name}"


def test_string_hygiene_rules() -> None:
    rows = [
        _person(),
        _person(name=" 张三"),
        _person(address="宁夏银川市\x07兴庆区"),
        _person(address="宁夏银川市兴庆区１号"),
        _person(name="张\u3000三"),
    ]
    assert _failed(POPULATION, rows) == [
        set(),
        {"name.padded"},
        {"address.control_chars"},
        {"address.full_width"},
        {"name.full_width"},
    ]


HYGIENE_CASES = {
    "control_chars": list("\t\n\r\x00\x01\x1f\x7f\x80\x85\x9f\u2028\u2029"),
    "zero_width": list("\u200b\u200c\u200d\u2060\ufeff"),
    "bidi_control": list("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
}
ALLOWED_NEIGHBOURS = list("\u00b7\u00a0\u200a\u2010\u2027\u202f\u2061\u206a\ufefe")
"""Characters just outside the forbidden ranges (the middle dot is in real names: 阿依古丽·买买提)."""


def test_hygiene_refuses_control_zero_width_and_bidi_characters_inside_a_name() -> None:
    cases = [(kind, ch) for kind, chars in HYGIENE_CASES.items() for ch in chars]
    rows = [_person(name=f"张{ch}三") for _, ch in cases] + [_person(name=f"张{ch}三") for ch in ALLOWED_NEIGHBOURS]
    failed = _failed(POPULATION, rows)
    assert failed[: len(cases)] == [{f"name.{kind}"} for kind, _ in cases]
    assert failed[len(cases) :] == [set()] * len(ALLOWED_NEIGHBOURS)


def test_hygiene_limit_is_the_declared_length_in_characters() -> None:
    name, address = POPULATION.field("name").length, POPULATION.field("address").length
    assert (name, address) == (50, 200)  # departments.md: XM varchar(50), HJDZ_XZ varchar(200)
    rows = [
        _person(name="张" * name),  # 150 bytes of UTF-8, 50 characters: fits
        _person(name="张" * (name + 1)),
        _person(name="张" * 100_000),
        _person(address="街" * address),
        _person(address="街" * (address + 1)),
    ]
    assert _failed(POPULATION, rows) == [set(), {"name.too_long"}, {"name.too_long"}, set(), {"address.too_long"}]


def test_every_hygiene_field_declares_its_length() -> None:
    for table in TABLES.values():
        for f in table.fields:
            if "text_hygiene" in f.rules:
                assert f.length, f"{table.qualified_name}.{f.name} has text_hygiene but no declared length"


def test_hygiene_failures_reach_the_quarantine_under_their_rule(store: str, ga_source) -> None:
    uri, _ = ga_source
    dirty = {
        "11010519491231002": ("张\u200b三", "name.zero_width"),
        "11010519491231004": ("\u202e三张", "name.bidi_control"),
        "11010519491231006": ("张" * 51, "name.too_long"),
    }
    with psycopg.connect(uri) as conn:
        conn.execute('ALTER TABLE "T_RK_JBXX" ALTER COLUMN "XM" TYPE text')  # widened by the department, unannounced
        for number, (name, _) in dirty.items():
            conn.execute(
                "INSERT INTO \"T_RK_JBXX\" VALUES (%s, %s, '2', '01', '19491231', '640104', NULL, NULL, '0', "
                "'2026-11-02 08:00:00')",
                (number + ric.calc_check_digit(number + "0"), name),
            )
    entry = run_ingest(registry.get("ga_population"), "run-1", store=store, today=TODAY)
    assert entry.balanced
    with psycopg.connect(store) as conn:
        got = dict(
            conn.execute(
                "SELECT raw->>'GMSFHM', rule FROM quarantine.record WHERE rule LIKE 'name.%%' AND batch_id = %s",
                (entry.batch_id,),
            ).fetchall()
        )
        loaded = conn.execute(
            "SELECT count(*) FROM shared.population WHERE id_number = ANY(%s)",
            ([n + ric.calc_check_digit(n + "0") for n in dirty],),
        ).fetchone()[0]
    assert got == {n + ric.calc_check_digit(n + "0"): rule for n, (_, rule) in dirty.items()}
    assert loaded == 0


def test_region_codes_well_formed_and_city_codes_known() -> None:
    rows = [
        _person(region_code="640181"),
        _person(region_code="110105"),  # other regions are legal
        _person(region_code="640199"),  # inside 银川市 but no such district
        _person(region_code="64010"),
        _person(region_code="990101"),  # no such province
    ]
    assert _failed(POPULATION, rows) == [
        set(),
        set(),
        {"region_code.city_region"},
        {"region_code.gb_t_2260"},
        {"region_code.gb_t_2260"},
    ]


def test_dates_in_range() -> None:
    ok = _person()
    future = _person(birth_date=dt.date(2027, 1, 1))
    early = _person(birth_date=dt.date(1899, 12, 31))
    failed = _failed(POPULATION, [ok, future, early])
    assert failed[0] == set()
    assert "birth_date.future" in failed[1]
    assert "birth_date.too_early" in failed[2]


def test_decimals_non_negative_and_within_precision() -> None:
    base = {
        "person_no": "P1",
        "insurance_type": "110",
        "id_number": "11010519491231002X",
        "name": "张三",
        "status": "ACTIVE",
        "enrolled_on": dt.date(2010, 1, 1),
        "source_updated_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    }
    rows = [base | {"contribution_base": Decimal(v)} for v in ("4500.00", "-1.00", "0.00")]
    assert _failed(SOCIAL_INSURANCE, rows) == [set(), {"contribution_base.negative"}, set()]
    capital = MARKET_ENTITY.field("registered_capital")
    assert "decimal_non_negative" in capital.rules


def _entity_batch(raw: pa.Table) -> pa.Table:
    """The SC rows in the declared shape, as an SC mapping produces them (text cleaned, codes translated)."""
    status = {"1": "ACTIVE", "2": "REVOKED", "3": "CANCELLED", "4": "MOVED_OUT"}
    data = {
        "uscc": raw["TYSHXYDM"],
        "name": text.clean_text(raw["ZTMC"]),
        "entity_type": raw["ZTLX"],
        "legal_rep": text.clean_name(raw["FDDBR"]),
        "legal_rep_id": raw["FDDBR_ZJHM"],
        "registered_capital": raw["ZCZB"],
        "established_on": raw["CLRQ"],
        "approved_on": raw["HZRQ"],
        "authority_name": text.clean_text(raw["DJJG"]),
        "authority_code": raw["DJJGDM"],
        "status": pa.array([status[s] for s in raw["DJZT"].to_pylist()]),
        "address": text.clean_text(raw["ZS"]),
        "region_code": raw["ZS_XZQHDM"],
        "business_scope": text.clean_text(raw["JYFW"]),
        "source_updated_at": pc.assume_timezone(raw["GXSJ"], timezone="Asia/Shanghai"),
    }
    schema = arrow_schema(MARKET_ENTITY)
    return pa.Table.from_arrays([pc.cast(data[f.name], f.type) for f in schema], schema=schema)


def test_market_entity_dirt_lands_under_its_rules(store: str) -> None:
    plan = CityPlan(2000, 5)
    raw, manifest = entities.generate(plan.volume("market_entities"), plan.seed, persons(plan.persons, plan.seed))
    data = _entity_batch(raw)
    verdict = validate(MARKET_ENTITY, data, today=TODAY)
    rejected = verdict.rejected
    checksum = next(f for f in verdict.failures if f.rule == "uscc.checksum").mask
    wrong = manifest.rows["wrong_check_character"]
    assert len(wrong) and checksum[wrong].all()
    assert set(np.flatnonzero(rejected)) == set(wrong)  # nothing else in the simulator's SC data is rejected

    keep = pa.array(~rejected)
    refs = pc.binary_join_element_wise(data["uscc"], pc.cast(raw["GXSJ"], pa.string()), "@").filter(keep)
    with LoadTransaction(store, MARKET_ENTITY, source="sc_market_entity", batch_id="sc:test") as tx:
        tx.stage(data.filter(keep).append_column("_ref", refs))
        merged = tx.merge()
        tx.finish(
            run_id="test",
            started_at=dt.datetime.now(dt.UTC),
            extracted=data.num_rows,
            counts=merged.ledger_counts(int(rejected.sum())),
            cursor_from=None,
            cursor_to=None,
            move_cursor=False,
            drift=[],
            rule_counts=verdict.counts(),
        )
    duplicates = manifest.rows["duplicate_row"]
    assert merged.superseded == len(duplicates) > 0
    with psycopg.connect(store) as conn:
        superseded = conn.execute(
            "SELECT count(*) FROM quarantine.record WHERE rule = 'key.superseded_in_batch' "
            "AND raw->>'address' LIKE '%(旧址)%'"
        ).fetchone()[0]
        assert superseded == len(duplicates)  # the older delivery was kept out, the latest loaded

    run_checks(store, "check-1")
    bad_reps = set(raw["TYSHXYDM"].take(pa.array(manifest.rows["bad_legal_rep_id"])).to_pylist()) - set(
        raw["TYSHXYDM"].take(pa.array(wrong)).to_pylist()
    )
    with psycopg.connect(store) as conn:
        found = {
            r[0]
            for r in conn.execute(
                "SELECT record_key FROM quality.finding WHERE rule = 'legal_rep_id.gb11643' AND status = 'open'"
            )
        }
    assert bad_reps and bad_reps <= found


def test_date_to_ymd_arithmetic_matches_the_calendar() -> None:
    from quality.rules import _ymd

    rng = np.random.default_rng(1)
    dates = [dt.date(1, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 3_000_000, 5000)]
    dates += [dt.date(2000, 2, 29), dt.date(1900, 3, 1), dt.date(1969, 12, 31), dt.date(1970, 1, 1)]
    got = _ymd(pa.array([*dates, None], pa.date32()))
    assert got.tolist() == [d.year * 10000 + d.month * 100 + d.day for d in dates] + [0]
