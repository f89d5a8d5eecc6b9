"""The 人社 simulator: its data is deterministic and its cross-references with the city are real."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
import requests

from schemas.standards import identity
from simulators.city import CityPlan, entities, persons
from simulators.rs import insured
from simulators.rs.provision import provision, start
from tests.conftest import ADMIN_URI
from tests.simulators.rs_server import RsServer, page_json, rs_server

__all__ = ["rs_server"]
PLAN = CityPlan(20_000, 5)


@pytest.fixture(scope="module")
def generated() -> tuple:
    return insured.generate(PLAN)


def test_volume_key_and_determinism(generated) -> None:
    table, manifest = generated
    assert abs(table.num_rows - PLAN.volume("social_insurance")) <= 5
    keys = pc.binary_join_element_wise(table["grbh"], table["xzlx"], "/")
    assert pc.count_distinct(keys).as_py() == table.num_rows
    again, manifest_again = insured.generate(PLAN)
    assert again.equals(table) and manifest_again == manifest
    assert set(table["xzlx"].to_pylist()) == {"110", "120", "170", "210", "410"}


def test_dirt_rates_are_real_against_the_population_and_market_registries(generated) -> None:
    table, manifest = generated
    registry = persons(PLAN.persons, PLAN.seed)
    known, _ = identity.normalize(registry["GMSFHM"])
    by_person = table.group_by("grbh").aggregate([("sfzhm", "min"), ("cbzt", "min"), ("cbzt", "max")])
    n_persons = by_person.num_rows
    absent = by_person.filter(pc.invert(pc.is_in(by_person["sfzhm_min"], value_set=known)))
    assert sorted(absent["grbh"].to_pylist()) == sorted(manifest.persons["orphan"])
    assert 0.002 <= absent.num_rows / n_persons <= 0.004
    dead_ids = known.filter(pc.equal(registry["RYZT"], "1"))
    dead = by_person.filter(pc.is_in(by_person["sfzhm_min"], value_set=dead_ids))
    assert sorted(dead["grbh"].to_pylist()) == sorted(manifest.persons["dead_active"])
    assert set(dead["cbzt_max"].to_pylist()) == {"1"}
    assert 0.0005 <= dead.num_rows / n_persons <= 0.0015

    market = entities(PLAN).slice(0, PLAN.volume("market_entities"))
    employed = table.filter(pc.not_equal(table["tyshxydm"], ""))
    unknown = employed.filter(pc.invert(pc.is_in(employed["tyshxydm"], value_set=market["TYSHXYDM"])))
    assert set(unknown["grbh"].to_pylist()) == set(manifest.persons["unknown_employer"]) != set()
    inactive_codes = market["TYSHXYDM"].filter(pc.not_equal(market["DJZT"], "1"))
    inactive = employed.filter(pc.is_in(employed["tyshxydm"], value_set=inactive_codes))
    assert set(inactive["grbh"].to_pylist()) == set(manifest.persons["inactive_employer"]) != set()
    residents = table.filter(pc.equal(table["xzlx"], "170"))
    assert set(residents["dwbh"].to_pylist()) == set(residents["tyshxydm"].to_pylist()) == {""}


def test_dates_and_times_are_consistent(generated) -> None:
    table, _ = generated
    cbrq = table["cbrq"].to_numpy(zero_copy_only=False)
    assert (cbrq < np.datetime64(insured.BASE_DAY)).all()
    carded = table.filter(pc.is_valid(table["sbkh"]))
    assert pc.all(pc.is_valid(carded["fkrq"])).as_py()
    assert pc.all(pc.is_null(table.filter(pc.is_null(table["sbkh"]))["fkrq"])).as_py()


def test_pages_follow_the_spec(rs_server: RsServer) -> None:
    first = page_json(rs_server, page_size=7)
    assert len(first["data"]) == 7 and first["next_cursor"]
    row = first["data"][0]
    assert set(row) <= set(insured.API_FIELDS) and set(insured.API_FIELDS) - set(row) <= {"sbkh", "fkrq"}
    assert row["gxsj"].endswith("+08:00") and dt.datetime.fromisoformat(row["gxsj"]).utcoffset()
    assert row["jfjs"].count(".") == 1 and len(row["jfjs"].split(".")[1]) == 2
    rows, cursor = [], None
    while True:
        page = page_json(rs_server, page_size=1000, **({"cursor": cursor} if cursor else {}))
        rows += page["data"]
        if not (cursor := page["next_cursor"]):
            break
    order = [(dt.datetime.fromisoformat(r["gxsj"]), r["grbh"], r["xzlx"]) for r in rows]
    assert order == sorted(order) and len(rows) == len(rs_server.rows())
    since = rows[len(rows) // 2]["gxsj"]
    later = page_json(rs_server, page_size=1000, updated_since=since)["data"]
    assert later[0]["gxsj"] == since  # inclusive


def test_bad_requests_are_refused(rs_server: RsServer) -> None:
    base = rs_server.base_url + "/api/v1/insured-persons"
    assert requests.get(base, timeout=10).status_code == 401
    token = requests.post(
        rs_server.base_url + "/api/v1/token", json={"app_id": rs_server.app_id, "app_secret": "x"}, timeout=10
    )
    assert token.status_code == 401
    good = requests.post(
        rs_server.base_url + "/api/v1/token",
        json={"app_id": rs_server.app_id, "app_secret": rs_server.app_secret},
        timeout=10,
    ).json()
    assert good["expires_in"] == 1800
    auth = {"Authorization": "Bearer " + good["access_token"]}
    assert requests.get(base, params={"page_size": 1001}, headers=auth, timeout=10).status_code == 400
    assert requests.get(base, params={"cursor": "garbage"}, headers=auth, timeout=10).status_code == 400
    assert requests.post(rs_server.base_url + "/admin/faults", json={"nope": 1}, timeout=10).status_code == 400


def test_a_day_of_changes_is_stamped_on_that_day(rs_server: RsServer) -> None:
    before = {(g, x): t for g, x, t in rs_server.rows()}
    change = rs_server.day(1)
    after = {(g, x): t for g, x, t in rs_server.rows()}
    changed = {k for k, t in after.items() if before.get(k) != t}
    assert len(changed) == change["total"] and change["enrolments"] == len(set(after) - set(before)) > 0
    assert change["status_changes"] > 0 and change["cards_issued"] > 0
    day = insured.BASE_DAY + dt.timedelta(days=1)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert {after[k].astimezone(shanghai).date() for k in changed} == {day}


def test_provision_then_start_as_a_process(tmp_path: Path) -> None:
    import json
    import os
    import signal

    env = provision(CityPlan(300, 2), ADMIN_URI, tmp_path)
    conn = json.loads(env["AIRFLOW_CONN_RS_SOCIAL_INSURANCE"])
    assert conn["conn_type"] == "http" and conn["login"] and conn["password"]
    assert oct((tmp_path / "simulators" / "rs" / "server.json").stat().st_mode & 0o777) == "0o600"
    process = start(tmp_path, tmp_path / "rs.log")
    try:
        health = requests.get(f"http://127.0.0.1:{conn['port']}/admin/health", timeout=10).json()
        assert health["rows"] == CityPlan(300, 2).volume("social_insurance")
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
