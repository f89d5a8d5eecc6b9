"""Deterministic synthetic 人社 enrolments (参保信息), one row per person and insurance type.

The rows are drawn from the city of :mod:`simulators.city`: insured persons are persons of the
公安 registry and employers are entities of the 市场监管 registry, so the listed dirt is real
when the three sources are compared (departments.md, 人社局):

- ~0.3% of insured persons are absent from the population registry (``orphan``);
- ~0.1% of insured persons are dead there (``RYZT`` 1) but still 参保缴费 (``dead_active``);
- employers whose USCC is unknown to market regulation (``unknown_employer``) or whose entity is
  not 存续 (``inactive_employer``); employers whose registry USCC has a wrong check character
  come along naturally.

Employees have 110 (or 120 in the public sector), mostly 210 and 410, all with one employer;
other residents have 170 with empty employer fields. Names are copied from the registry as it
holds them (full-width spaces included). The data lives in the simulator's own database
(``sim_rs``, table ``insured_persons``) that the REST server pages through; :func:`apply_day`
applies a day of new enrolments, status changes and issued cards there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulators.city import CityPlan, entities, persons
from simulators.standards import as_strings, resident_ids

DATABASE = "sim_rs"
TABLE = "insured_persons"
BASE_DAY = dt.date(2026, 11, 1)
"""The data is as of this day; day ``k`` of changes happens on BASE_DAY + k."""
TIMEZONE = "Asia/Shanghai"
TYPES = np.array(["110", "120", "170", "210", "410"])
DIRT_RATES = {"orphan": 0.003, "dead_active": 0.001, "unknown_employer": 0.005, "inactive_employer": 0.01}
API_FIELDS = ("grbh", "sfzhm", "xm", "xzlx", "cbzt", "dwbh", "dwmc", "tyshxydm", "cbrq", "jfjs", "sbkh", "fkrq", "gxsj")

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    grbh text COLLATE "C" NOT NULL,
    sfzhm text NOT NULL,
    xm text NOT NULL,
    xzlx text COLLATE "C" NOT NULL,
    cbzt text NOT NULL,
    dwbh text NOT NULL,
    dwmc text NOT NULL,
    tyshxydm text NOT NULL,
    cbrq date NOT NULL,
    jfjs numeric(12,2) NOT NULL,
    sbkh text,
    fkrq date,
    gxsj timestamptz NOT NULL,
    PRIMARY KEY (grbh, xzlx)
);
CREATE INDEX IF NOT EXISTS {TABLE}_page ON {TABLE} (gxsj, grbh, xzlx);
COMMENT ON TABLE {TABLE} IS '人社局 参保信息 (social insurance REST API simulator)'
"""


@dataclass(frozen=True)
class Manifest:
    """Where the dirt went: person numbers (``grbh``) per kind."""

    persons: dict[str, list[str]]


def person_numbers(index: np.ndarray) -> pa.StringArray:
    """个人编号 of insured person ``index``: ``6401`` and 12 digits, unique (an affine bijection mod 10^12)."""
    serial = (index.astype(np.int64) * 982_451_653 + 170_000_000_001) % 10**12
    return pc.binary_join_element_wise("6401", pc.utf8_lpad(pc.cast(pa.array(serial), pa.string()), 12, "0"), "")


def _valid_people(table: pa.Table) -> tuple[pa.StringArray, np.ndarray, np.ndarray]:
    """Normalised identity numbers, birth dates and validity of registry persons."""
    return resident_ids(table["GMSFHM"], BASE_DAY)


def _orphans(plan: CityPlan, k: int, known: pa.Array) -> pa.Table:
    """``k`` persons with valid identity numbers that the population registry does not hold."""
    from simulators.ga.population import generate

    if k == 0:
        return pa.table({"sfzhm": pa.array([], pa.string()), "xm": pa.array([], pa.string())})
    others, _ = generate(max(50, k * 4), seed=plan.seed * 7919 + 12300)
    ids, birth, valid = _valid_people(others)
    adult = birth <= np.datetime64(BASE_DAY - dt.timedelta(days=18 * 366))
    fresh = valid & adult & ~pc.is_in(ids, value_set=known).to_numpy(zero_copy_only=False)
    rows = pa.array(np.flatnonzero(fresh)[:k])
    return pa.table({"sfzhm": ids.take(rows), "xm": others["XM"].take(rows), "birth": pa.array(birth[rows])})


def _unknown_usccs(rng: np.random.Generator, k: int, known: pa.Array) -> pa.StringArray:
    """``k`` valid USCCs that the market registry does not hold."""
    from simulators.sc.entities import make_usccs

    regions = np.frombuffer(b"640104", dtype=np.uint8)[None, :].repeat(k * 3 + 3, axis=0)
    codes = as_strings(make_usccs(rng, np.array(["1100"] * len(regions)), regions))
    return codes.filter(pc.invert(pc.is_in(codes, value_set=known))).slice(0, k)


def generate(plan: CityPlan) -> tuple[pa.Table, Manifest]:
    """The enrolments of ``plan``'s city, about ``plan.volume("social_insurance")`` rows.

    Returns:
        The rows (the API's field names; ``cbrq``/``fkrq`` as dates, ``jfjs`` as decimal, ``gxsj``
        zone-aware) and the person numbers carrying each kind of dirt.
    """
    rng = np.random.default_rng([plan.seed, 12300])
    registry = persons(plan.persons, plan.seed)
    ids, birth, valid = _valid_people(registry)
    status = registry["RYZT"].to_numpy(zero_copy_only=False)
    adult = birth <= np.datetime64(BASE_DAY - dt.timedelta(days=16 * 366))
    volume = plan.volume("social_insurance")
    expected_persons = max(1, round(volume / 2.0))
    n_orphan = max(1, round(expected_persons * DIRT_RATES["orphan"]))
    dead_pool = rng.permutation(np.flatnonzero(valid & adult & (status == "1")))
    n_dead = min(len(dead_pool), max(1, round(expected_persons * DIRT_RATES["dead_active"])))
    living = rng.permutation(np.flatnonzero(valid & adult & (status == "0")))
    orphans = _orphans(plan, n_orphan, ids)

    chosen = np.r_[dead_pool[:n_dead], living]
    sfzhm = pa.concat_arrays([orphans["sfzhm"].combine_chunks(), ids.take(pa.array(chosen))])
    xm = pa.concat_arrays([orphans["xm"].combine_chunks(), registry["XM"].take(pa.array(chosen)).combine_chunks()])
    born = np.r_[orphans["birth"].to_numpy(zero_copy_only=False).astype("datetime64[D]"), birth[chosen]]
    n_people = len(sfzhm)
    special = orphans.num_rows + n_dead

    employee = rng.random(n_people) < 0.6
    public = rng.random(n_people) < 0.1
    has = np.zeros((n_people, len(TYPES)), dtype=bool)
    has[:, 0] = employee & ~public
    has[:, 1] = employee & public
    has[:, 2] = ~employee
    has[:, 3] = employee & (rng.random(n_people) < 0.9)
    has[:, 4] = employee & (rng.random(n_people) < 0.8)
    person_idx, type_idx = np.nonzero(has)
    keep = min(len(person_idx), max(volume, int(np.searchsorted(person_idx, special))))
    person_idx, type_idx = person_idx[:keep], type_idx[:keep]
    n_people = int(person_idx[-1]) + 1
    grbh = person_numbers(np.arange(n_people))

    # employers: mostly 存续 entities of the registry, a few not 存续, a few unknown to it
    registry_entities = entities(plan).slice(0, plan.volume("market_entities"))
    uscc = registry_entities["TYSHXYDM"].combine_chunks()
    djzt = registry_entities["DJZT"].to_numpy(zero_copy_only=False)
    active = np.flatnonzero(djzt == "1")
    inactive = np.flatnonzero(djzt != "1")
    emp_people = np.flatnonzero(employee[:n_people])
    pick = rng.random(len(emp_people))
    n_unknown = max(1, round(len(emp_people) * DIRT_RATES["unknown_employer"]))
    n_inactive = max(1, round(len(emp_people) * DIRT_RATES["inactive_employer"])) if len(inactive) else 0
    order = np.argsort(pick)
    unknown_people = emp_people[order[:n_unknown]]
    inactive_people = emp_people[order[n_unknown : n_unknown + n_inactive]]
    employer = np.full(n_people, -1, dtype=np.int64)
    employer[emp_people] = active[rng.integers(0, len(active), len(emp_people))]
    employer[inactive_people] = inactive[rng.integers(0, max(1, len(inactive)), len(inactive_people))]
    n_unknown_employers = max(1, len(unknown_people) // 20)
    unknown_codes = _unknown_usccs(rng, n_unknown_employers, uscc)
    employer[unknown_people] = len(uscc) + rng.integers(0, len(unknown_codes), len(unknown_people))
    all_codes = pa.concat_arrays([uscc, unknown_codes])
    unknown_names = pa.array([f"宁夏朔方建材{i}有限公司" for i in range(len(unknown_codes))])
    all_names = pa.concat_arrays([registry_entities["ZTMC"].combine_chunks(), unknown_names])
    emp = employer[person_idx]
    has_emp = emp >= 0
    emp_take = pa.array(np.where(has_emp, emp, 0))
    empty = pa.scalar("", pa.string())
    dwbh = pc.if_else(
        pa.array(has_emp),
        pc.binary_join_element_wise("640100", pc.utf8_lpad(pc.cast(emp_take, pa.string()), 8, "0"), ""),
        empty,
    )
    dwmc = pc.if_else(pa.array(has_emp), all_names.take(emp_take), empty)
    tyshxydm = pc.if_else(pa.array(has_emp), all_codes.take(emp_take), empty)

    person_status = np.where(
        employee[:n_people],
        rng.choice(np.array(["1", "2", "3"]), n_people, p=[0.88, 0.07, 0.05]),
        rng.choice(np.array(["1", "2", "3"]), n_people, p=[0.92, 0.05, 0.03]),
    )
    person_status[orphans.num_rows : special] = "1"

    start = np.maximum(born[:n_people] + np.timedelta64(16 * 366, "D"), np.datetime64("1995-01-01"))
    last = np.datetime64(BASE_DAY - dt.timedelta(days=1))
    span = np.maximum((last - start).astype(np.int64), 1)
    cbrq = np.minimum(start + (rng.random(n_people) * span).astype("timedelta64[D]"), last)
    wage = np.clip(np.round(rng.lognormal(np.log(5500), 0.35, n_people), 2), 3500, 30000)
    tier = rng.choice(np.array([200, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000], dtype=np.float64), n_people)
    jfjs = np.where(employee[:n_people], wage, tier)

    carded = rng.random(n_people) < 0.85
    letters = np.array(list("ABCDEFGHJKLMN"))
    card_serial = (np.arange(n_people, dtype=np.int64) * 48_271 + 1_234_567) % 10**8
    sbkh = pc.binary_join_element_wise(
        pa.array(letters[rng.integers(0, len(letters), n_people)]),
        pc.utf8_lpad(pc.cast(pa.array(card_serial), pa.string()), 8, "0"),
        "",
    )
    card_day = np.maximum(cbrq, np.datetime64("2009-01-01") + rng.integers(0, 6_000, n_people).astype("timedelta64[D]"))
    card_day = np.minimum(card_day, last)

    minutes = rng.integers(
        0, int((np.datetime64(BASE_DAY) - np.datetime64("2012-01-01")).astype(np.int64)) * 1440, n_people
    )
    person_ts = np.datetime64("2012-01-01T00:00", "s") + (minutes * 60).astype("timedelta64[s]")
    migrated = rng.random(n_people) < 0.2  # bulk migrations stamped many persons with one time
    person_ts[migrated] = np.datetime64("2016-12-31T00:00:00") + (rng.integers(0, 4, migrated.sum()) * 3600).astype(
        "timedelta64[s]"
    )
    known_since = np.where(carded, np.maximum(cbrq, card_day), cbrq).astype("datetime64[s]") + np.timedelta64(9, "h")
    person_ts = np.minimum(np.maximum(person_ts, known_since), np.datetime64(BASE_DAY, "s") - np.timedelta64(3600, "s"))
    row_ts = person_ts[person_idx]
    later = rng.random(len(person_idx)) < 0.25  # one insurance changed on its own since
    row_ts[later] = np.minimum(
        row_ts[later] + (rng.integers(1, 400 * 1440, later.sum()) * 60).astype("timedelta64[s]"),
        np.datetime64(BASE_DAY, "s") - np.timedelta64(60, "s"),
    )
    take = pa.array(person_idx)
    table = pa.table(
        {
            "grbh": grbh.take(take),
            "sfzhm": sfzhm.take(take),
            "xm": xm.take(take),
            "xzlx": pa.array(TYPES[type_idx]),
            "cbzt": pa.array(person_status[person_idx]),
            "dwbh": dwbh,
            "dwmc": dwmc,
            "tyshxydm": tyshxydm,
            "cbrq": pa.array(cbrq[person_idx], pa.date32()),
            "jfjs": pa.array(jfjs[person_idx]).cast(pa.decimal128(12, 2)),
            "sbkh": pc.if_else(pa.array(carded[person_idx]), sbkh.take(take), pa.scalar(None, pa.string())),
            "fkrq": pc.if_else(
                pa.array(carded[person_idx]), pa.array(card_day[person_idx], pa.date32()), pa.scalar(None, pa.date32())
            ),
            "gxsj": local_times(row_ts),
        }
    )
    names = grbh.to_numpy(zero_copy_only=False)
    manifest = Manifest(
        {
            "orphan": names[: orphans.num_rows].tolist(),
            "dead_active": names[orphans.num_rows : special].tolist(),
            "unknown_employer": sorted(names[unknown_people[unknown_people < n_people]].tolist()),
            "inactive_employer": sorted(names[inactive_people[inactive_people < n_people]].tolist()),
        }
    )
    return table, manifest


def local_times(values: np.ndarray) -> pa.Array:
    """Naive Asia/Shanghai wall-clock times as zone-aware Arrow timestamps."""
    naive = pa.array(values.astype("datetime64[us]"), pa.timestamp("us"))
    return pc.assume_timezone(naive, timezone=TIMEZONE)


def create(uri: str, plan: CityPlan) -> Manifest:
    """(Re)create ``insured_persons`` at ``uri`` with the enrolments of ``plan``'s city."""
    from simulators.pgtable import recreate

    table, manifest = generate(plan)
    recreate(uri, TABLE, DDL, table)
    return manifest


@dataclass(frozen=True)
class DayOfChanges:
    """What :func:`apply_day` changed (rows of ``insured_persons``)."""

    day: int
    enrolments: int
    status_changes: int
    cards_issued: int
    total: int
    """Distinct rows inserted or updated (a row can have its status changed and its card issued)."""


def apply_day(uri: str, day: int, plan: CityPlan) -> DayOfChanges:
    """Apply day ``day`` (1, 2, ...) of changes: new enrolments, status changes, issued cards.

    Every changed row gets a ``gxsj`` on that day; changes come in groups sharing one second.
    """
    import adbc_driver_postgresql.dbapi as adbc

    rng = np.random.default_rng([plan.seed, 12300, day])
    date = BASE_DAY + dt.timedelta(days=day)
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT grbh, xzlx, cbzt, sbkh IS NULL AS no_card, sfzhm FROM {TABLE} ORDER BY grbh, xzlx")
        rows = cur.fetch_arrow_table()
        insured_ids = pc.unique(rows["sfzhm"])
        cur.execute(f"SELECT count(DISTINCT grbh) FROM {TABLE}")
        n_people = int(cur.fetchone()[0])
        n_rows = max(rows.num_rows, 1)

        def stamps(k: int) -> pa.Array:
            seconds = np.sort(rng.integers(8 * 3600, 18 * 3600, size=max(1, k // 4)))
            base = np.datetime64(date, "s") + seconds.astype("timedelta64[s]")
            return local_times(base[rng.integers(0, len(base), size=k)])

        # status changes: 1 -> 2 or 3, 2 -> 1
        changeable = np.flatnonzero(pc.is_in(rows["cbzt"], pa.array(["1", "2"])).to_numpy(zero_copy_only=False))
        k_status = min(len(changeable), max(3, round(n_rows * 3e-4)))
        picked = np.sort(rng.choice(changeable, k_status, replace=False))
        old = rows["cbzt"].take(pa.array(picked)).to_numpy(zero_copy_only=False)
        new = np.where(old == "2", "1", np.where(rng.random(k_status) < 0.7, "2", "3"))
        status = pa.table(
            {
                "grbh": rows["grbh"].take(pa.array(picked)),
                "xzlx": rows["xzlx"].take(pa.array(picked)),
                "cbzt": pa.array(new),
                "gxsj": stamps(k_status),
            }
        )
        # cards issued: every row of a few persons without a card
        no_card = pc.unique(rows["grbh"].filter(rows["no_card"])).sort()
        k_cards = min(len(no_card), max(2, round(len(no_card) * 2e-3)))
        card_people = no_card.take(pa.array(np.sort(rng.choice(len(no_card), k_cards, replace=False))))
        cards = pa.table(
            {
                "grbh": card_people,
                "sbkh": pa.array([f"N{(day * 7_919 + i * 104_729) % 10**8:08d}" for i in range(k_cards)]),
                "gxsj": stamps(k_cards),
            }
        )
        # new enrolments: adults of the registry not insured yet
        registry = persons(plan.persons, plan.seed)
        ids, birth, valid = _valid_people(registry)
        adult = birth <= np.datetime64(date - dt.timedelta(days=16 * 366))
        candidates = valid & adult & (registry["RYZT"].to_numpy(zero_copy_only=False) == "0")
        candidates &= ~pc.is_in(ids, value_set=insured_ids).to_numpy(zero_copy_only=False)
        pool = np.flatnonzero(candidates)
        k_new = min(len(pool), max(2, round(n_people * 2e-4)))
        chosen = np.sort(rng.choice(pool, k_new, replace=False))
        resident = rng.random(k_new) < 0.5
        new_rows = pa.table(
            {
                "grbh": person_numbers(np.arange(n_people, n_people + k_new)),
                "sfzhm": ids.take(pa.array(chosen)),
                "xm": registry["XM"].take(pa.array(chosen)).combine_chunks(),
                "resident": pa.array(resident),
                "jfjs": pa.array(np.where(resident, 300.0, np.round(rng.uniform(3500, 9000, k_new), 2))).cast(
                    pa.decimal128(12, 2)
                ),
                "gxsj": stamps(k_new),
            }
        )
        entity = entities(plan).slice(0, plan.volume("market_entities"))
        active = entity.filter(pc.equal(entity["DJZT"], "1"))
        employer = int(rng.integers(0, active.num_rows))
        cur.adbc_ingest("rs_status", status, mode="create", temporary=True)
        cur.adbc_ingest("rs_cards", cards, mode="create", temporary=True)
        cur.adbc_ingest("rs_new", new_rows, mode="create", temporary=True)
        cur.execute(
            f"UPDATE {TABLE} t SET cbzt = s.cbzt, gxsj = s.gxsj FROM rs_status s "
            "WHERE t.grbh = s.grbh AND t.xzlx = s.xzlx"
        )
        cur.execute(
            f"UPDATE {TABLE} t SET sbkh = c.sbkh, fkrq = $1::date, gxsj = greatest(t.gxsj, c.gxsj) FROM rs_cards c "
            "WHERE t.grbh = c.grbh",
            parameters=(date,),
        )
        uscc = active["TYSHXYDM"][employer].as_py()
        name = active["ZTMC"][employer].as_py()
        dwbh = f"640100{entity['TYSHXYDM'].to_pylist().index(uscc):08d}"
        cur.execute(
            f"INSERT INTO {TABLE} (grbh, sfzhm, xm, xzlx, cbzt, dwbh, dwmc, tyshxydm, cbrq, jfjs, gxsj) "
            "SELECT n.grbh, n.sfzhm, n.xm, x.xzlx, '1', "
            "CASE WHEN n.resident THEN '' ELSE $1 END, CASE WHEN n.resident THEN '' ELSE $2 END, "
            "CASE WHEN n.resident THEN '' ELSE $3 END, $4::date, n.jfjs, n.gxsj "
            "FROM rs_new n CROSS JOIN (VALUES ('170'), ('110'), ('210'), ('410')) x(xzlx) "
            "WHERE (x.xzlx = '170') = n.resident",
            parameters=(dwbh, name, uscc, date),
        )
        cur.execute(
            "SELECT count(*) FROM (SELECT grbh, xzlx FROM rs_status UNION "
            f"SELECT t.grbh, t.xzlx FROM {TABLE} t JOIN rs_cards c USING (grbh)) changed"
        )
        updated = int(cur.fetchone()[0])
        cur.execute(f"SELECT count(*) FROM {TABLE} t JOIN rs_new n USING (grbh)")
        enrolled = int(cur.fetchone()[0])
        cur.execute(f"SELECT count(*) FROM {TABLE} t JOIN rs_cards c USING (grbh)")
        carded = int(cur.fetchone()[0])
        cur.execute("DROP TABLE rs_status, rs_cards, rs_new")
        conn.commit()
    return DayOfChanges(day, enrolled, k_status, carded, updated + enrolled)
