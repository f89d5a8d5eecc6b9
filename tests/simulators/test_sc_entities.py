"""The 市场监管 simulator: deterministic registry and day of changes, with its dirt."""

from __future__ import annotations

import datetime as dt

import adbc_driver_postgresql.dbapi as adbc
import numpy as np
import pyarrow.compute as pc
import pytest

from schemas.standards import uscc
from simulators.city import CityPlan, entities, persons
from simulators.sc import entities as sc
from tests.conftest import fresh_database

PLAN = CityPlan(30_000, 3)


def _read(uri: str):
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT * FROM "{sc.TABLE}" ORDER BY "TYSHXYDM", "GXSJ"')
        return cur.fetch_arrow_table()


def test_registry_is_deterministic_and_carries_its_dirt() -> None:
    people = persons(PLAN.persons, PLAN.seed)
    n = 20_000
    a, manifest = sc.generate(n, 9, people)
    b, _ = sc.generate(n, 9, people)
    assert a.equals(b)
    assert not a.equals(sc.generate(n, 10, people)[0])
    dup = manifest.rows["duplicate_row"]
    assert a.num_rows == n + len(dup) and len(dup) == pytest.approx(n * sc.DIRT_RATES["duplicate_row"], abs=1)
    codes = a["TYSHXYDM"].slice(0, n)
    bad = ~uscc.check(codes).valid
    assert np.flatnonzero(bad).tolist() == manifest.rows["wrong_check_character"].tolist()
    assert len(manifest.rows["wrong_check_character"]) == round(n * sc.DIRT_RATES["wrong_check_character"])
    # a duplicated code appears twice: the older row 30 days before, at another address
    older = a.slice(n)
    assert older["TYSHXYDM"].to_pylist() == codes.take(dup).to_pylist()
    assert all(o < y for o, y in zip(older["GXSJ"].to_pylist(), a["GXSJ"].take(dup).to_pylist(), strict=True))
    assert len(pc.unique(codes)) == n


def test_a_day_of_changes_is_deterministic_and_stamped_on_that_day() -> None:
    uris = [fresh_database("sim_sc"), fresh_database("sim_sc")]
    registry = entities(PLAN)
    changes = []
    for uri in uris:
        sc.create(uri, registry)
        changes.append(sc.apply_day(uri, 1, PLAN.seed, persons(PLAN.persons, PLAN.seed)))
    assert changes[0] == changes[1]
    assert _read(uris[0]).equals(_read(uris[1]))
    change = changes[0]
    after = _read(uris[0])
    day = sc.BASE_DAY + dt.timedelta(days=1)
    on_day = after.filter(pc.equal(pc.cast(after["GXSJ"], "date32"), day))
    assert on_day.num_rows == change.total
    assert after.num_rows == registry.num_rows + change.registrations
    assert len(pc.unique(on_day["GXSJ"])) < on_day.num_rows  # several rows share one GXSJ
    status = pc.value_counts(on_day["DJZT"]).to_pylist()
    counts = {s["values"]: s["counts"] for s in status}
    assert counts.get("2") == change.revocations and counts.get("3") == change.cancellations
    new = on_day.filter(pc.equal(on_day["CLRQ"], day))
    assert new.num_rows == change.registrations and uscc.check(new["TYSHXYDM"]).valid.all()
