"""The 医保 file-drop simulator: deterministic, cross-referenced with the city, files as specified."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow.compute as pc

from schemas.mappings.yb_medical_insurance import HEADER  # the hub's; the simulator declares its own
from simulators.city import CityPlan, entities, persons
from simulators.yb import enrolments
from simulators.yb.enrolments import Dirt, encode_csv
from simulators.yb.provision import deliver_day, inbox_of, provision

PLAN = CityPlan(1500, 9)


def test_full_state_is_deterministic_at_the_planned_volume() -> None:
    a, b = enrolments.full_state(PLAN), enrolments.full_state(PLAN)
    assert a.equals(b) and not a.equals(enrolments.full_state(CityPlan(1500, 10)))
    assert a.num_rows == PLAN.volume("medical_insurance")
    assert a.column_names == list(HEADER)


def test_insured_and_employers_come_from_the_city_registries() -> None:
    table = enrolments.full_state(PLAN)
    ids = set(pc.utf8_trim_whitespace(persons(PLAN.persons, PLAN.seed)["GMSFHM"]).to_pylist())
    assert set(table["身份证号"].to_pylist()) <= ids
    employers = set(entities(PLAN)["TYSHXYDM"].to_pylist())
    employee = pc.equal(table["险种类型"], "310")
    assert set(table.filter(employee)["参保单位代码"].to_pylist()) <= employers
    assert set(table.filter(pc.invert(employee))["参保单位代码"].to_pylist()) == {""}
    assert set(table["参保状态"].to_pylist()) == {"1", "2", "4"}


def test_day_changes_are_stamped_that_day_and_revisit_known_rows() -> None:
    full = enrolments.full_state(PLAN)
    day = enrolments.day_changes(PLAN, 2)
    assert {v[:10] for v in day["变更时间"].to_pylist()} == {"2026-11-03"}
    known = set(full["人员编号"].to_pylist())
    numbers = day["人员编号"].to_pylist()
    assert any(n in known for n in numbers) and any(n not in known for n in numbers)


def test_file_is_gbk_crlf_with_the_chinese_header_and_quotes_where_needed() -> None:
    payload = encode_csv(enrolments.full_state(PLAN), Dirt(quoted_separators=True))
    text = payload.decode("gbk")
    assert text.startswith(",".join(HEADER) + "\r\n")
    assert "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert all(len(r) == len(HEADER) for r in rows)
    assert any("," in r[6] for r in rows) and any("\r\n" in r[6] for r in rows)


def test_provision_and_deliver_write_data_before_markers(tmp_path: Path) -> None:
    env = provision(PLAN, "", tmp_path)
    inbox = inbox_of(tmp_path)
    assert str(inbox) in env["AIRFLOW_CONN_YB_MEDICAL_INSURANCE"]
    out = deliver_day(inbox, 1, PLAN, redeliver_previous=True, next_pending=True)
    names = sorted(p.name for p in inbox.iterdir())
    assert names == [
        "YB_CBXX_20261101.csv",
        "YB_CBXX_20261101.ok",
        "YB_CBXX_20261102.csv",
        "YB_CBXX_20261102.ok",
        "YB_CBXX_20261103.csv",
    ]
    assert out["redelivered"] == "YB_CBXX_20261101.csv" and out["pending"] == "YB_CBXX_20261103.csv"
