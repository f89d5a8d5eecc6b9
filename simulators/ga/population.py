"""Deterministic synthetic ``T_RK_JBXX`` at any scale, with the dirt departments.md lists.

``generate(n, seed)`` builds the registry as an Arrow table, vectorised (3 million persons in
seconds); ``create`` loads it into the simulator database; ``apply_day`` applies one day of
births, deaths, moves and corrections so incremental runs have work to do. The same
``(n, seed, day)`` always gives the same data.

Dirt rates (departments.md / standards.md): ~0.5% legacy 15-digit numbers, ~0.3% wrong check
character, ~0.2% impossible birth dates, ~0.5% names or addresses with full-width characters or
stray spaces; also lower-case ``x``, full-width digits and space-padded numbers, and runs of
rows sharing one GXSJ.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulators.names import CITY_DISTRICTS, GIVEN, ROADS, SURNAMES
from simulators.standards import as_strings, id_check_characters

TABLE = "T_RK_JBXX"
DATABASE = "sim_ga"
BASE_DAY = dt.date(2026, 11, 1)
"""The registry's state is as of this day; day ``k`` of changes happens on BASE_DAY + k."""

DDL = f"""
CREATE TABLE IF NOT EXISTS "{TABLE}" (
    "GMSFHM" varchar(18),
    "XM" varchar(50),
    "XB" char(1),
    "MZ" char(2),
    "CSRQ" char(8),
    "HJDZ_XZQHDM" char(6),
    "HJDZ_XZ" varchar(200),
    "LXDH" varchar(20),
    "RYZT" char(1),
    "GXSJ" timestamp without time zone
);
CREATE INDEX IF NOT EXISTS "IDX_{TABLE}_GXSJ" ON "{TABLE}" ("GXSJ");
COMMENT ON TABLE "{TABLE}" IS '人口基本信息 (公安局 population registry simulator)';
"""

DIRT_RATES = {
    "legacy_15_digit": 0.005,
    "wrong_check_character": 0.003,
    "impossible_birth_date": 0.002,
    "messy_name_or_address": 0.005,
    "full_width_id": 0.001,
}
OTHER_REGIONS = ("110105", "310104", "620102", "640202", "640302", "610113", "150102", "410105")
_FULL_WIDTH_OFFSET = 0xFF10 - 0x30


@dataclass(frozen=True)
class DirtManifest:
    """Which generated rows carry which dirt (row indices), so tests can check every kind lands right."""

    rows: dict[str, np.ndarray]


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as an ``(n, width)`` matrix of ASCII digits."""
    out = np.empty((len(values), width), dtype=np.uint8)
    v = values.astype(np.int64).copy()
    for i in range(width - 1, -1, -1):
        out[:, i] = 48 + v % 10
        v //= 10
    return out


def _region_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    codes = list(CITY_DISTRICTS) + list(OTHER_REGIONS)
    weights = np.array([0.24, 0.2, 0.2, 0.1, 0.1, 0.06] + [0.1 / len(OTHER_REGIONS)] * len(OTHER_REGIONS))
    choice = rng.choice(len(codes), size=n, p=weights / weights.sum())
    table = np.frombuffer("".join(codes).encode(), dtype=np.uint8).reshape(len(codes), 6)
    return table[choice]


def _birth_dates(rng: np.random.Generator, n: int, first: dt.date, last: dt.date) -> np.ndarray:
    span = (last - first).days
    return np.datetime64(first, "D") + rng.integers(0, span, size=n).astype("timedelta64[D]")


def _ymd(dates: np.ndarray) -> np.ndarray:
    y = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    return y * 10000 + m * 100 + d


def _id_numbers(region: np.ndarray, ymd: np.ndarray, male: np.ndarray, salt: np.ndarray) -> np.ndarray:
    """Unique 18-character identity numbers as an ``(n, 18)`` matrix (check character valid).

    Sequence numbers are ranks within each (region, birth date) group, so two persons never
    share a number; the parity follows the sex.
    """
    n = len(ymd)
    region_key = region.astype(np.int64) @ (256 ** np.arange(6, dtype=np.int64))
    order = np.lexsort((salt, ymd, region_key))
    group = np.r_[True, (np.diff(region_key[order]) != 0) | (np.diff(ymd[order]) != 0)]
    starts = np.maximum.accumulate(np.where(group, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts
    seq = (rank * 2 + np.where(male, 1, 0)) % 1000
    m = np.empty((n, 18), dtype=np.uint8)
    m[:, :6] = region
    m[:, 6:14] = _digits(ymd, 8)
    m[:, 14:17] = _digits(seq, 3)
    m[:, 17] = id_check_characters(m[:, :17])
    return m


def _names(rng: np.random.Generator, n: int) -> pa.Array:
    surname = pa.array(SURNAMES).take(pa.array(rng.integers(0, len(SURNAMES), n)))
    given1 = pa.array(GIVEN).take(pa.array(rng.integers(0, len(GIVEN), n)))
    given2 = pa.array(("", *GIVEN)).take(pa.array(rng.integers(0, len(GIVEN) + 1, n)))
    return pc.binary_join_element_wise(surname, given1, given2, "")


def _addresses(rng: np.random.Generator, region: np.ndarray) -> pa.Array:
    n = len(region)
    codes = as_strings(region)
    names = pa.array([*CITY_DISTRICTS.values(), ""])
    district = pc.take(
        names, pc.fill_null(pc.index_in(codes, value_set=pa.array(list(CITY_DISTRICTS))), len(names) - 1)
    )
    road = pa.array(ROADS).take(pa.array(rng.integers(0, len(ROADS), n)))
    number = pc.cast(pa.array(rng.integers(1, 400, n)), pa.string())
    return pc.binary_join_element_wise(pa.scalar("宁夏银川市"), district, road, number, pa.scalar("号"), "")


def _timestamps(rng: np.random.Generator, n: int, first: dt.datetime, last: dt.datetime) -> np.ndarray:
    span = int((last - first).total_seconds() // 60)
    minutes = rng.integers(0, span, size=n)
    ts = np.datetime64(first, "s") + (minutes * 60).astype("timedelta64[s]")
    # Bulk migrations stamped many rows with one time: a cursor must handle the ties.
    shared = rng.random(n) < 0.2
    ts[shared] = np.datetime64("2015-06-30T00:00:00") + (rng.integers(0, 5, shared.sum()) * 3600).astype(
        "timedelta64[s]"
    )
    return ts


def _full_width(values: list[str]) -> list[str]:
    return [
        "".join(chr(ord(c) + _FULL_WIDTH_OFFSET) if c.isdigit() else ("Ｘ" if c == "X" else c) for c in v)
        for v in values
    ]


def generate(n: int, seed: int = 640100) -> tuple[pa.Table, DirtManifest]:
    """Generate ``n`` persons of ``T_RK_JBXX``.

    Args:
        n: Number of persons.
        seed: Random seed; the same ``(n, seed)`` gives the same table.

    Returns:
        The table (source column names and types) and where each kind of dirt was put.
    """
    rng = np.random.default_rng(seed)
    region = _region_matrix(rng, n)
    birth = _birth_dates(rng, n, dt.date(1935, 1, 1), BASE_DAY - dt.timedelta(days=7))
    ymd = _ymd(birth)
    male = rng.random(n) < 0.51
    ids = _id_numbers(region, ymd, male, rng.random(n))
    csrq = ids[:, 6:14].copy()

    picks = rng.permutation(n)
    cursor = 0
    dirt: dict[str, np.ndarray] = {}

    def take(kind: str, eligible: np.ndarray | None = None) -> np.ndarray:
        nonlocal cursor
        count = round(n * DIRT_RATES[kind])
        pool = picks[cursor:]
        if eligible is not None:
            pool = pool[eligible[pool]]
        chosen = np.sort(pool[:count])
        cursor_set = np.isin(picks, chosen)
        picks[:] = np.r_[picks[cursor_set], picks[~cursor_set]]
        cursor += len(chosen)
        dirt[kind] = chosen
        return chosen

    impossible = take("impossible_birth_date", eligible=ymd < 20000000)
    # 30 February, 31 April or 31 June of the person's own birth year: still YYYYMMDD, never a day.
    bad_md = np.array([230, 431, 631])[rng.integers(0, 3, len(impossible))]
    bad_ymd = (ymd[impossible] // 10000) * 10000 + bad_md
    ids[impossible, 6:14] = _digits(bad_ymd, 8)
    ids[impossible, 17] = id_check_characters(ids[impossible, :17])
    csrq[impossible] = ids[impossible, 6:14]

    wrong = take("wrong_check_character")
    right = ids[wrong, 17]
    alphabet = np.frombuffer(b"0123456789X", dtype=np.uint8)
    pos = np.searchsorted(np.sort(alphabet), right)
    ids[wrong, 17] = np.sort(alphabet)[(pos + 1 + rng.integers(0, 9, len(wrong))) % 11]

    legacy = take("legacy_15_digit", eligible=(ymd >= 19000000) & (ymd < 20000000))
    # varchar(18) leaves room for spaces only around a 15-digit number.
    padded = legacy[: round(len(legacy) * 0.4)]
    dirt["space_padded_id"] = padded
    full_width = take("full_width_id")
    messy = take("messy_name_or_address")

    id_strings = as_strings(ids)
    lower_x = (ids[:, 17] == ord("X")) & (rng.random(n) < 0.5)
    replace_idx = np.unique(np.r_[legacy, full_width, np.flatnonzero(lower_x)])
    if len(replace_idx):
        values = id_strings.take(pa.array(replace_idx)).to_pylist()
        position = {int(r): i for i, r in enumerate(replace_idx)}
        for r in np.flatnonzero(lower_x):
            values[position[int(r)]] = values[position[int(r)]][:17] + "x"
        for r in legacy:
            v = values[position[int(r)]]
            values[position[int(r)]] = v[:6] + v[8:17]
        for i, v in zip(full_width, _full_width([values[position[int(r)]] for r in full_width]), strict=True):
            values[position[int(i)]] = v
        for r in padded:
            v = values[position[int(r)]]
            values[position[int(r)]] = (" " + v + "  ") if r % 2 else (v + "   ")
        mask = np.zeros(n, dtype=bool)
        mask[replace_idx] = True
        id_strings = pc.replace_with_mask(id_strings, pa.array(mask), pa.array(values, pa.string()))

    names = _names(rng, n)
    addresses = _addresses(rng, region)
    if len(messy):
        half = len(messy) // 2
        name_rows, addr_rows = messy[:half], messy[half:]
        names_list = names.take(pa.array(name_rows)).to_pylist()
        names_list = [(" " + v[0] + "\u3000" + v[1:] + " ") for v in names_list]
        names = pc.replace_with_mask(
            names, pa.array(np.isin(np.arange(n), name_rows)), pa.array(names_list, pa.string())
        )
        addr_list = addresses.take(pa.array(addr_rows)).to_pylist()
        addr_list = [
            "  " + "".join(chr(ord(c) + _FULL_WIDTH_OFFSET) if c.isdigit() else c for c in v) for v in addr_list
        ]
        addresses = pc.replace_with_mask(
            addresses, pa.array(np.isin(np.arange(n), addr_rows)), pa.array(addr_list, pa.string())
        )

    ethnic = np.where(rng.random(n) < 0.7, "01", np.where(rng.random(n) < 0.9, "03", "04"))
    phones = np.where(
        rng.random(n) < 0.45, "", np.char.add("13", np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9))
    )
    status = rng.choice(np.array(["0", "1", "2", "3"]), size=n, p=[0.97, 0.01, 0.015, 0.005])
    gxsj = _timestamps(rng, n, dt.datetime(2010, 1, 1), dt.datetime.combine(BASE_DAY, dt.time()))
    table = pa.table(
        {
            "GMSFHM": id_strings,
            "XM": names,
            "XB": pa.array(np.where(male, "1", "2")),
            "MZ": pa.array(ethnic),
            "CSRQ": as_strings(csrq),
            "HJDZ_XZQHDM": as_strings(region),
            "HJDZ_XZ": addresses,
            "LXDH": pa.array(phones),
            "RYZT": pa.array(status),
            "GXSJ": pa.array(gxsj, pa.timestamp("us")),
        }
    )
    return table, DirtManifest(dirt)


def create(uri: str, n: int, seed: int = 640100) -> DirtManifest:
    """(Re)create ``T_RK_JBXX`` at ``uri`` with ``n`` generated persons."""
    from simulators.pgtable import recreate

    table, manifest = generate(n, seed)
    recreate(uri, f'"{TABLE}"', DDL, table)
    return manifest


@dataclass(frozen=True)
class DayOfChanges:
    """What :func:`apply_day` changed."""

    day: int
    births: int
    deaths: int
    moves: int
    corrections: int

    @property
    def total(self) -> int:
        """Rows inserted or updated at the source."""
        return self.births + self.deaths + self.moves + self.corrections


def apply_day(uri: str, day: int, seed: int = 640100) -> DayOfChanges:
    """Apply day ``day`` (1, 2, ...) of changes: births, deaths, moves, corrections.

    Every change gets a GXSJ on that day, and changes come in groups that share one GXSJ.
    """
    import adbc_driver_postgresql.dbapi as adbc

    rng = np.random.default_rng([seed, day])
    date = BASE_DAY + dt.timedelta(days=day)
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT "GMSFHM" FROM "{TABLE}" WHERE "RYZT" = \'0\' ORDER BY "GMSFHM" COLLATE "C"')
        living = cur.fetch_arrow_table()["GMSFHM"]
        n = max(len(living), 1)
        counts = [max(3, round(n * r)) for r in (3e-5, 2e-5, 5e-5, 5e-5)]
        births, deaths, moves, corrections = counts
        chosen = rng.choice(len(living), size=min(len(living), deaths + moves + corrections), replace=False)
        keys = living.take(pa.array(chosen))
        death_keys = keys.slice(0, deaths)
        move_keys = keys.slice(deaths, moves)
        fix_keys = keys.slice(deaths + moves)

        def stamps(k: int) -> pa.Array:
            # groups of about five rows share one second
            minutes = np.sort(rng.integers(8 * 60, 18 * 60, size=max(1, k // 5)))
            base = np.datetime64(date, "s") + (minutes * 60).astype("timedelta64[s]")
            return pa.array(base[rng.integers(0, len(base), size=k)], pa.timestamp("us"))

        changes = pa.table(
            {
                "GMSFHM": pa.concat_arrays(
                    [death_keys.combine_chunks(), move_keys.combine_chunks(), fix_keys.combine_chunks()]
                ),
                "KIND": pa.array(["death"] * len(death_keys) + ["move"] * len(move_keys) + ["fix"] * len(fix_keys)),
                "GXSJ": stamps(len(keys)),
                "NEW_ADDR": _addresses(rng, _region_matrix(rng, len(keys))),
            }
        )
        cur.execute('CREATE TEMP TABLE "CHANGES" ("GMSFHM" text, "KIND" text, "GXSJ" timestamp, "NEW_ADDR" text)')
        cur.adbc_ingest("CHANGES", changes, mode="append", temporary=True)
        cur.execute(
            f'UPDATE "{TABLE}" t SET '
            "\"RYZT\" = CASE c.\"KIND\" WHEN 'death' THEN '1' WHEN 'move' THEN '2' ELSE t.\"RYZT\" END, "
            '"XM" = CASE c."KIND" WHEN \'fix\' THEN btrim(replace(t."XM", \'\u3000\', \'\')) ELSE t."XM" END, '
            '"HJDZ_XZ" = CASE c."KIND" WHEN \'fix\' THEN c."NEW_ADDR" ELSE t."HJDZ_XZ" END, '
            '"GXSJ" = c."GXSJ" FROM "CHANGES" c WHERE t."GMSFHM" = c."GMSFHM"'
        )
        newborn, _ = generate(births, seed=seed * 1000 + day)
        newborn = newborn.set_column(
            newborn.schema.get_field_index("CSRQ"),
            "CSRQ",
            pa.array([(date - dt.timedelta(days=int(d))).strftime("%Y%m%d") for d in rng.integers(1, 20, births)]),
        )
        region = np.frombuffer(b"640104", dtype=np.uint8)[None, :].repeat(births, axis=0)
        ymd = np.array([int(v) for v in newborn["CSRQ"].to_pylist()], dtype=np.int64)
        male = np.array([v == "1" for v in newborn["XB"].to_pylist()])
        ids = _id_numbers(region, ymd, male, rng.random(births) + day)
        # Newborns get sequence numbers above any generated one on their date: 900-999.
        ids[:, 14] = ord("9")
        ids[:, 17] = id_check_characters(ids[:, :17])
        newborn = newborn.set_column(0, "GMSFHM", as_strings(ids))
        newborn = newborn.set_column(newborn.schema.get_field_index("HJDZ_XZQHDM"), "HJDZ_XZQHDM", as_strings(region))
        newborn = newborn.set_column(newborn.schema.get_field_index("RYZT"), "RYZT", pa.array(["0"] * births))
        newborn = newborn.set_column(newborn.schema.get_field_index("GXSJ"), "GXSJ", stamps(births))
        cur.execute(f'CREATE TEMP TABLE "NEWBORN" (LIKE "{TABLE}")')
        cur.adbc_ingest("NEWBORN", newborn, mode="append", temporary=True)
        cur.execute(
            f'WITH ins AS (INSERT INTO "{TABLE}" SELECT * FROM "NEWBORN" b WHERE NOT EXISTS '
            f'(SELECT 1 FROM "{TABLE}" t WHERE t."GMSFHM" = b."GMSFHM") RETURNING 1) SELECT count(*) FROM ins'
        )
        births = int(cur.fetchone()[0])
        conn.commit()
    return DayOfChanges(day, births, deaths, moves, corrections)
