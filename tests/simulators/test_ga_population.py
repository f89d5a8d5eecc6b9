from __future__ import annotations

import pyarrow.compute as pc
import pytest

from simulators.ga import population


def test_generation_is_deterministic() -> None:
    a, ma = population.generate(3000, seed=11)
    b, mb = population.generate(3000, seed=11)
    c, _ = population.generate(3000, seed=12)
    assert a.equals(b)
    assert {k: v.tolist() for k, v in ma.rows.items()} == {k: v.tolist() for k, v in mb.rows.items()}
    assert not a.equals(c)


def test_dirt_rates_and_unique_persons() -> None:
    n = 20_000
    table, manifest = population.generate(n, seed=5)
    assert table.num_rows == n
    for kind, rate in population.DIRT_RATES.items():
        assert len(manifest.rows[kind]) == pytest.approx(n * rate, abs=2), kind
    cleaned = pc.utf8_upper(pc.utf8_trim_whitespace(table["GMSFHM"]))
    assert len(pc.unique(cleaned)) == n
    assert max(len(v) for v in table["GMSFHM"].to_pylist()) <= 18  # fits varchar(18)
    gxsj = table["GXSJ"]
    assert len(pc.unique(gxsj)) < n  # many rows share one GXSJ


def test_day_of_changes_updates_gxsj_and_status(store) -> None:
    from tests.conftest import fresh_database

    uri = fresh_database("sim")
    population.create(uri, 2000, seed=5)
    change = population.apply_day(uri, 1, seed=5)
    import psycopg

    with psycopg.connect(uri) as conn:
        changed = conn.execute(
            'SELECT count(*), count(DISTINCT "GXSJ") FROM "T_RK_JBXX" WHERE "GXSJ" >= %s', (population.BASE_DAY,)
        ).fetchone()
        dead = conn.execute(
            'SELECT count(*) FROM "T_RK_JBXX" WHERE "RYZT" = \'1\' AND "GXSJ" >= %s', (population.BASE_DAY,)
        ).fetchone()[0]
    assert changed[0] == change.total
    assert changed[1] < changed[0]  # several changes share one GXSJ
    assert dead == change.deaths


def test_the_simulators_districts_are_the_hubs_both_written_from_standards_md() -> None:
    """Two declarations on purpose: a district dropped from ``schemas.codes`` would be generated anyway and rejected."""
    from schemas.codes import CITY_DISTRICTS
    from simulators.names import CITY_DISTRICTS as SIMULATED

    assert SIMULATED == CITY_DISTRICTS
