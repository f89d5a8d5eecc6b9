"""Deterministic synthetic ``T_SCZT_DJXX`` (市场主体登记信息) with the listed dirt.

Codes are real USCCs (GB 32100 check character and a GB 11714 organisation code); legal
representatives are persons of the city's 公安 registry. Dirt (departments.md): ~0.2% codes with
a wrong check character; a few entities delivered twice with different GXSJ (the latest wins);
legal representatives whose identity numbers fail the check.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulators.names import CITY_DISTRICTS, ROADS
from simulators.standards import USCC_ALPHABET, as_strings, org_check_characters, uscc_check_characters

TABLE = "T_SCZT_DJXX"
DATABASE = "sim_sc"
BASE_DAY = dt.date(2026, 11, 1)

DDL = f"""
CREATE TABLE IF NOT EXISTS "{TABLE}" (
    "TYSHXYDM" char(18),
    "ZTMC" varchar(200),
    "ZTLX" varchar(4),
    "FDDBR" varchar(50),
    "FDDBR_ZJHM" varchar(18),
    "ZCZB" numeric(18,4),
    "CLRQ" date,
    "HZRQ" date,
    "DJJG" varchar(100),
    "DJJGDM" char(18),
    "DJZT" char(1),
    "ZS" varchar(200),
    "ZS_XZQHDM" char(6),
    "JYFW" text,
    "GXSJ" timestamp without time zone
);
CREATE INDEX IF NOT EXISTS "IDX_{TABLE}_GXSJ" ON "{TABLE}" ("GXSJ");
CREATE INDEX IF NOT EXISTS "IDX_{TABLE}_TYSHXYDM" ON "{TABLE}" ("TYSHXYDM");
"""

DIRT_RATES = {"wrong_check_character": 0.002, "duplicate_row": 0.001, "bad_legal_rep_id": 0.002}
ENTITY_TYPES = np.array(["1100", "1200", "4000", "5000", "9100", "9300"])
ENTITY_TYPE_WEIGHTS = np.array([0.30, 0.02, 0.05, 0.03, 0.58, 0.02])
STATUS_WEIGHTS = {"1": 0.90, "2": 0.04, "3": 0.05, "4": 0.01}
SCOPES = (
    "一般项目：日用百货销售；食品销售（仅销售预包装食品）",
    "技术服务、技术开发、技术咨询",
    "餐饮服务",
    "农产品初加工；谷物种植",
    "建筑工程施工；装饰装修",
    "道路货物运输（不含危险货物）",
)
NAME_WORDS = ("塞上", "贺兰", "凤城", "宁安", "黄河", "金凤", "西夏", "兴庆", "沙湖", "六盘", "丝路", "朔方")
NAME_TAILS = {
    "1100": "有限公司",
    "1200": "股份有限公司",
    "4000": "个人独资企业",
    "5000": "合伙企业（有限合伙）",
    "9100": "商行",
    "9300": "农民专业合作社",
}
INDUSTRIES = ("商贸", "科技", "餐饮", "农业", "建筑", "物流", "文化", "医药")


def organ_uscc(region: str, serial: int) -> str:
    """The USCC of a government organ (机关, ``11``) in ``region`` with organisation serial ``serial``."""
    org = np.frombuffer(f"MB{serial:06d}".encode(), dtype=np.uint8)[None, :]
    body = np.frombuffer(f"11{region}".encode(), dtype=np.uint8)[None, :]
    m = np.concatenate([body, org, org_check_characters(org)[:, None]], axis=1)
    return (bytes(m[0]) + bytes(uscc_check_characters(m))).decode()


def authority_codes() -> dict[str, str]:
    """The registering authorities (银川市 and district 市场监督管理局) and their USCCs."""
    names = {"640100": "银川市市场监督管理局"} | {c: f"银川市{n}市场监督管理局" for c, n in CITY_DISTRICTS.items()}
    return {name: organ_uscc(region, 1500 + i) for i, (region, name) in enumerate(names.items())}


def make_usccs(rng: np.random.Generator, entity_types: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Unique valid USCCs as an ``(n, 18)`` matrix: 9 + organisation type + region + org code + check."""
    n = len(entity_types)
    m = np.empty((n, 18), dtype=np.uint8)
    m[:, 0] = ord("9")
    m[:, 1] = np.where(entity_types == "9100", ord("2"), np.where(entity_types == "9300", ord("3"), ord("1")))
    m[:, 2:8] = regions
    # an affine map mod 31^6 with a multiplier prime to 31 is a bijection: unique serials, no big permutation
    serial = (np.arange(n, dtype=np.int64) * 7_368_787 + int(rng.integers(0, 31**6))) % 31**6
    org_alphabet = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
    m[:, 8] = ord("M")
    m[:, 9] = ord("A")
    v = serial.copy()
    for i in range(15, 9, -1):
        m[:, i] = org_alphabet[v % 31]
        v //= 31
    m[:, 16] = org_check_characters(m[:, 8:16])
    m[:, 17] = uscc_check_characters(m[:, :17])
    return m


@dataclass(frozen=True)
class DirtManifest:
    """Row indices carrying each kind of dirt."""

    rows: dict[str, np.ndarray]


def generate(n: int, seed: int, persons: pa.Table) -> tuple[pa.Table, DirtManifest]:
    """Generate ``n`` entities (plus the duplicated rows) whose legal representatives are ``persons``.

    Args:
        n: Distinct entities.
        seed: Random seed (with ``n`` and ``persons``, fixes the output).
        persons: The 公安 registry table (``GMSFHM``, ``XM``) to draw legal representatives from.
    """
    rng = np.random.default_rng([seed, 32100])
    types = rng.choice(ENTITY_TYPES, size=n, p=ENTITY_TYPE_WEIGHTS / ENTITY_TYPE_WEIGHTS.sum())
    districts = list(CITY_DISTRICTS)
    region_idx = rng.integers(0, len(districts), n)
    regions = np.frombuffer("".join(districts).encode(), dtype=np.uint8).reshape(-1, 6)[region_idx]
    codes = make_usccs(rng, types, regions)
    dirt: dict[str, np.ndarray] = {}
    order = rng.permutation(n)
    k_wrong = round(n * DIRT_RATES["wrong_check_character"])
    wrong = np.sort(order[:k_wrong])
    dirt["wrong_check_character"] = wrong
    codes[wrong, 17] = np.frombuffer(USCC_ALPHABET, dtype=np.uint8)[
        (np.searchsorted(np.frombuffer(USCC_ALPHABET, dtype=np.uint8), codes[wrong, 17]) + 1) % 31
    ]
    picks = rng.integers(0, persons.num_rows, n)
    rep_ids = pc.utf8_trim_whitespace(persons["GMSFHM"]).take(pa.array(picks))
    rep_names = persons["XM"].take(pa.array(picks))
    k_bad = round(n * DIRT_RATES["bad_legal_rep_id"])
    bad_rep = np.sort(order[k_wrong : k_wrong + k_bad])
    dirt["bad_legal_rep_id"] = bad_rep
    if len(bad_rep):
        broken = [
            v[:17] + ("0" if v[17] != "0" else "1") if v and len(v) == 18 else v
            for v in rep_ids.take(pa.array(bad_rep)).to_pylist()
        ]
        mask = np.zeros(n, dtype=bool)
        mask[bad_rep] = True
        rep_ids = pc.replace_with_mask(rep_ids.combine_chunks(), pa.array(mask), pa.array(broken, pa.string()))
    established = np.datetime64("1995-01-01") + rng.integers(0, 11_200, n).astype("timedelta64[D]")
    approved = np.minimum(
        established + rng.integers(0, 2_000, n).astype("timedelta64[D]"), np.datetime64(BASE_DAY - dt.timedelta(days=1))
    )
    status = rng.choice(np.array(list(STATUS_WEIGHTS)), size=n, p=list(STATUS_WEIGHTS.values()))
    capital = np.round(rng.lognormal(4, 1.2, n), 4)
    authorities = authority_codes()
    auth_names = np.array(list(authorities))
    auth_pick = np.where(rng.random(n) < 0.4, 0, 1 + region_idx)
    word = pa.array(NAME_WORDS).take(pa.array(rng.integers(0, len(NAME_WORDS), n)))
    industry = pa.array(INDUSTRIES).take(pa.array(rng.integers(0, len(INDUSTRIES), n)))
    serial = pc.cast(pa.array(np.arange(n) % 9973), pa.string())
    tails = pa.array([NAME_TAILS[t] for t in ENTITY_TYPES]).take(pa.array(np.searchsorted(ENTITY_TYPES, types)))
    names = pc.binary_join_element_wise(pa.scalar("宁夏"), word, industry, serial, tails, "")
    road = pa.array(ROADS).take(pa.array(rng.integers(0, len(ROADS), n)))
    district_names = pa.array(list(CITY_DISTRICTS.values())).take(pa.array(region_idx))
    address = pc.binary_join_element_wise(
        pa.scalar("宁夏银川市"),
        district_names,
        road,
        pc.cast(pa.array(rng.integers(1, 500, n)), pa.string()),
        pa.scalar("号"),
        "",
    )
    minutes = rng.integers(0, 16 * 365 * 24 * 60, n)
    gxsj = np.datetime64("2010-01-01T00:00") + minutes.astype("timedelta64[m]")
    table = pa.table(
        {
            "TYSHXYDM": as_strings(codes),
            "ZTMC": names,
            "ZTLX": pa.array(types),
            "FDDBR": rep_names,
            "FDDBR_ZJHM": rep_ids,
            "ZCZB": pa.array(
                [None if t == "9100" else c for t, c in zip(types, capital, strict=True)], pa.float64()
            ).cast(pa.decimal128(18, 4)),
            "CLRQ": pa.array(established.astype("datetime64[D]")),
            "HZRQ": pa.array(approved.astype("datetime64[D]")),
            "DJJG": pa.array(auth_names[auth_pick]),
            "DJJGDM": pa.array([authorities[a] for a in auth_names[auth_pick]]),
            "DJZT": pa.array(status),
            "ZS": address,
            "ZS_XZQHDM": as_strings(regions),
            "JYFW": pa.array(SCOPES).take(pa.array(rng.integers(0, len(SCOPES), n))),
            "GXSJ": pa.array(gxsj.astype("datetime64[us]")),
        }
    )
    k_dup = max(1, round(n * DIRT_RATES["duplicate_row"]))
    dup = np.sort(order[k_wrong + k_bad : k_wrong + k_bad + k_dup])
    older = table.take(pa.array(dup))
    older = older.set_column(
        older.schema.get_field_index("GXSJ"), "GXSJ", pc.subtract(older["GXSJ"], pa.scalar(dt.timedelta(days=30)))
    )
    older = older.set_column(
        older.schema.get_field_index("ZS"), "ZS", pc.binary_join_element_wise(older["ZS"], pa.scalar("（旧址）"), "")
    )
    dirt["duplicate_row"] = dup
    return pa.concat_tables([table, older]), DirtManifest(dirt)


def create(uri: str, table: pa.Table) -> None:
    """(Re)create ``T_SCZT_DJXX`` at ``uri`` holding ``table``."""
    from simulators.pgtable import recreate

    recreate(uri, f'"{TABLE}"', DDL, table)


DAY_RATES = {"registrations": 4e-4, "revocations": 1e-4, "cancellations": 1.5e-4, "address_changes": 3e-4}
"""Share of the registry touched per day by each kind of change (at least 3 of each)."""


@dataclass(frozen=True)
class DayOfChanges:
    """What :func:`apply_day` changed at the source."""

    day: int
    registrations: int
    revocations: int
    cancellations: int
    address_changes: int

    @property
    def total(self) -> int:
        """Rows inserted or updated at the source."""
        return self.registrations + self.revocations + self.cancellations + self.address_changes


def day_stamps(rng: np.random.Generator, date: dt.date, k: int) -> pa.Array:
    """``k`` office-hour timestamps on ``date``; about five rows share each one."""
    minutes = np.sort(rng.integers(8 * 60, 18 * 60, size=max(1, k // 5)))
    base = np.datetime64(date, "s") + (minutes * 60).astype("timedelta64[s]")
    return pa.array(base[rng.integers(0, len(base), size=k)], pa.timestamp("us"))


def apply_day(uri: str, day: int, seed: int, persons: pa.Table) -> DayOfChanges:
    """Apply day ``day`` (1, 2, ...) of changes: new registrations, 吊销, 注销 and address changes.

    Every changed row gets a GXSJ on ``BASE_DAY + day``; several rows share one GXSJ. The
    same ``(day, seed)`` on the same registry gives the same changes.

    Args:
        uri: The simulator database.
        day: Day number after :data:`BASE_DAY`.
        seed: The city's seed.
        persons: The 公安 registry, for the new entities' legal representatives.
    """
    import adbc_driver_postgresql.dbapi as adbc

    rng = np.random.default_rng([seed, 32100, day])
    date = BASE_DAY + dt.timedelta(days=day)
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(
            f'SELECT "TYSHXYDM" FROM "{TABLE}" WHERE "DJZT" = \'1\' GROUP BY 1 ORDER BY "TYSHXYDM"::text COLLATE "C"'
        )
        active = cur.fetch_arrow_table()["TYSHXYDM"]
        n = max(len(active), 1)
        registrations, revocations, cancellations, moves = (max(3, round(n * r)) for r in DAY_RATES.values())
        chosen = rng.choice(len(active), size=min(len(active), revocations + cancellations + moves), replace=False)
        keys = active.take(pa.array(chosen)).combine_chunks()
        kinds = ["2"] * revocations + ["3"] * cancellations + ["move"] * moves
        regions = list(CITY_DISTRICTS.items())
        pick = rng.integers(0, len(regions), len(keys))
        new_addr = [
            f"宁夏银川市{regions[p][1]}{ROADS[r]}{h}号"
            for p, r, h in zip(
                pick, rng.integers(0, len(ROADS), len(keys)), rng.integers(1, 500, len(keys)), strict=True
            )
        ]
        changes = pa.table(
            {
                "TYSHXYDM": keys,
                "KIND": pa.array(kinds[: len(keys)]),
                "GXSJ": day_stamps(rng, date, len(keys)),
                "NEW_ZS": pa.array(new_addr, pa.string()),
                "NEW_XZQHDM": pa.array([regions[p][0] for p in pick], pa.string()),
            }
        )
        cur.execute(
            'CREATE TEMP TABLE "CHANGES" ("TYSHXYDM" text, "KIND" text, "GXSJ" timestamp, "NEW_ZS" text, '
            '"NEW_XZQHDM" text)'
        )
        cur.adbc_ingest("CHANGES", changes, mode="append", temporary=True)
        # of a duplicated code only the latest row changes: the older one stays as delivered
        cur.execute(
            f'UPDATE "{TABLE}" t SET '
            '"DJZT" = CASE WHEN c."KIND" = \'move\' THEN t."DJZT" ELSE c."KIND" END, '
            '"ZS" = CASE WHEN c."KIND" = \'move\' THEN c."NEW_ZS" ELSE t."ZS" END, '
            '"ZS_XZQHDM" = CASE WHEN c."KIND" = \'move\' THEN c."NEW_XZQHDM" ELSE t."ZS_XZQHDM" END, '
            '"HZRQ" = $1::date, "GXSJ" = c."GXSJ" '
            f'FROM (SELECT c.*, (SELECT max(x."GXSJ") FROM "{TABLE}" x WHERE x."TYSHXYDM" = c."TYSHXYDM") AS latest '
            'FROM "CHANGES" c) c WHERE t."TYSHXYDM" = c."TYSHXYDM" AND t."GXSJ" = c.latest',
            parameters=(date.isoformat(),),
        )
        fresh = _registrations(registrations, seed * 1000 + day, persons, date, rng)
        cur.execute(f'CREATE TEMP TABLE "FRESH" (LIKE "{TABLE}")')
        cur.adbc_ingest("FRESH", fresh, mode="append", temporary=True)
        cur.execute(
            f'WITH ins AS (INSERT INTO "{TABLE}" SELECT * FROM "FRESH" f WHERE NOT EXISTS '
            f'(SELECT 1 FROM "{TABLE}" t WHERE t."TYSHXYDM" = f."TYSHXYDM") RETURNING 1) SELECT count(*) FROM ins'
        )
        registrations = int(cur.fetchone()[0])
        conn.commit()
    return DayOfChanges(day, registrations, revocations, cancellations, moves)


def _registrations(k: int, seed: int, persons: pa.Table, date: dt.date, rng: np.random.Generator) -> pa.Table:
    """``k`` entities registered on ``date`` (active, established and approved that day)."""
    fresh = generate(k, seed, persons)[0].slice(0, k)  # without the generator's duplicated rows
    day = pa.array([date] * k, pa.date32())
    for name, values in (
        ("CLRQ", day),
        ("HZRQ", day),
        ("DJZT", pa.array(["1"] * k)),
        ("GXSJ", day_stamps(rng, date, k)),
    ):
        fresh = fresh.set_column(fresh.schema.get_field_index(name), name, values)
    return fresh
