"""The 政务服务 simulator: deterministic cases from the city, the log as of a day, its dirt."""

from __future__ import annotations

import datetime as dt

import adbc_driver_postgresql.dbapi as adbc
import pyarrow.compute as pc
import pytest
from stdnum.cn import ric

from schemas.standards import identity, uscc
from simulators.city import CityPlan, entities, persons
from simulators.zw import cases
from tests.conftest import fresh_database

PLAN = CityPlan(60_000, 4)


def _log(uri: str):
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT * FROM "{cases.TABLE}" ORDER BY "LSH"')
        return cur.fetch_arrow_table()


def test_cases_are_deterministic_from_the_city() -> None:
    a, ma = cases.stream(PLAN, -10, 0)
    b, mb = cases.stream(PLAN, -10, 0)
    assert a.equals(b) and ma == mb
    assert not a.equals(cases.stream(CityPlan(60_000, 5), -10, 0)[0])
    # applicants are persons of the 公安 registry or entities of the 市场监管 registry
    people = set(pc.utf8_trim_whitespace(persons(PLAN.persons, PLAN.seed)["GMSFHM"]).to_pylist())
    firms = set(entities(PLAN)["TYSHXYDM"].to_pylist())
    bad = set(ma.cases["bad_applicant_id"])
    sq = a.filter(pc.equal(a["HJ"], "SQ"))
    for case, kind, number in zip(
        sq["SBLSH"].to_pylist(), sq["SQRLX"].to_pylist(), sq["SQRZJHM"].to_pylist(), strict=True
    ):
        if case not in bad:
            assert number in (people if kind == "1" else firms)
    assert uscc.check(sq["SLBMDM"]).valid.all()
    assert all(len(code) == 12 + 1 + 18 for code in sq["SXBM"].to_pylist())


def test_volume_flows_and_dirt_rates() -> None:
    rows, manifest = cases.stream(PLAN, -59, 0)  # 60 calendar days
    per_day = PLAN.volume("cases_per_year") / 250
    sq = rows.filter(pc.equal(rows["HJ"], "SQ"))
    n = sq.num_rows
    working = sum(1 for d in range(-59, 1) if (cases.BASE_DAY + dt.timedelta(days=d)).weekday() < 5)
    assert n == pytest.approx(per_day * working, rel=0.05)
    assert set(pc.day_of_week(sq["HJSJ"]).to_pylist()) <= {0, 1, 2, 3, 4}  # no case submitted at weekends
    completed = rows.filter(pc.equal(rows["HJ"], "BJ"))
    done = len(pc.unique(completed["SBLSH"]))
    assert len(manifest.cases["out_of_order"]) == pytest.approx(done * cases.DIRT_RATES["out_of_order"], rel=0.35)
    assert len(manifest.cases["bad_applicant_id"]) == pytest.approx(n * cases.DIRT_RATES["bad_applicant_id"], rel=0.5)
    orphan = manifest.cases["evaluation_without_completion"]
    assert len(orphan) == pytest.approx((n - done) * cases.DIRT_RATES["evaluation_without_completion"], rel=0.5)
    assert not set(orphan) & set(completed["SBLSH"].to_pylist())
    bad_ids = sq.filter(pc.is_in(sq["SBLSH"], value_set=pc.cast(manifest.cases["bad_applicant_id"], "string")))
    persons_bad = bad_ids.filter(pc.equal(bad_ids["SQRLX"], "1"))["SQRZJHM"]
    firms_bad = bad_ids.filter(pc.equal(bad_ids["SQRLX"], "2"))["SQRZJHM"]
    assert not identity.check(persons_bad).valid.any() and not uscc.check(firms_bad).valid.any()
    assert pc.min(rows["MYD"]).as_py() >= 1 and pc.max(rows["MYD"]).as_py() <= 5


def test_log_as_of_a_day_and_the_next_day_out_of_order() -> None:
    uri = fresh_database("sim_zw")
    manifest, written = cases.create(uri, PLAN)
    full = _log(uri)
    assert full.num_rows == written and full["LSH"].to_pylist() == list(range(1, written + 1))
    assert pc.max(full["HJSJ"]).as_py() < dt.datetime.combine(cases.BASE_DAY + dt.timedelta(days=1), dt.time())
    # an out-of-order case's SL has a higher LSH than its BJ
    pairs = 0
    for late in manifest.cases["out_of_order"]:
        steps = full.filter(pc.equal(full["SBLSH"], late))
        lsh: dict[str, int] = {}
        for hj, no in zip(steps["HJ"].to_pylist(), steps["LSH"].to_pylist(), strict=True):
            lsh.setdefault(hj, no)  # the first row of each step (an evaluation may repeat BJ)
        if "SL" in lsh:
            pairs += 1
            assert lsh["SL"] > lsh["BJ"]
    assert pairs > 0
    day = cases.apply_day(uri, PLAN, 1)
    after = _log(uri)
    assert after.num_rows == written + day.steps and after.slice(0, written).equals(full)
    assert after["LSH"].to_pylist() == list(range(1, after.num_rows + 1))
    new = after.slice(written)
    assert day.new_cases == len(pc.unique(new.filter(pc.equal(new["HJ"], "SQ"))["SBLSH"])) > 0
    assert day.late_steps > 0  # SL rows of cases completed yesterday arrive today
    # the same database state as generating the whole stream up to the end of day 1
    stream, _ = cases.stream(PLAN, -cases.HISTORY_DAYS, 1)
    end = dt.datetime.combine(cases.BASE_DAY + dt.timedelta(days=2), dt.time())
    assert stream.filter(pc.less(stream["ARRIVAL"], end)).num_rows == after.num_rows


@pytest.mark.parametrize("org", [False, True])
def test_an_applicant_number_made_to_fail_stays_failing_whatever_its_characters(org: bool) -> None:
    full_width = "６４０１０４１９９００１０１００１Ｘ"  # 18 full-width characters: 公安's dirt, picked as an applicant
    failed = cases._failing(full_width, org)
    assert len(failed) == 18 and failed[:17] == full_width[:17] and failed[17] not in "0123456789X"
    body = "64010419900101001"
    valid = body + ric.calc_check_digit(body + "0")  # stdnum computes from the first 17 of 18 characters
    failed = cases._failing(valid, False)
    assert failed[:17] == body and failed[17] != valid[17]
