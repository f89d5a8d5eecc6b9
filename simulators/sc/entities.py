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

from quality.arrowutil import matrix_to_strings
from quality.uscc import ALPHABET, check_characters, org_check_characters
from schemas.codes import CITY_DISTRICTS
from simulators.names import ROADS

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


def authority_codes() -> dict[str, str]:
    """The registering authorities (银川市 and district 市场监督管理局) and their USCCs."""
    names = {"640100": "银川市市场监督管理局"} | {c: f"银川市{n}市场监督管理局" for c, n in CITY_DISTRICTS.items()}
    out = {}
    for i, (region, name) in enumerate(names.items()):
        org = np.frombuffer(f"MB{1500 + i:06d}".encode(), dtype=np.uint8)[None, :]
        body = np.frombuffer(f"11{region}".encode(), dtype=np.uint8)[None, :]
        m = np.concatenate([body, org, org_check_characters(org)[:, None]], axis=1)
        out[name] = (bytes(m[0]) + bytes(check_characters(m))).decode()
    return out


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
    m[:, 17] = check_characters(m[:, :17])
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
    codes[wrong, 17] = np.frombuffer(ALPHABET, dtype=np.uint8)[
        (np.searchsorted(np.frombuffer(ALPHABET, dtype=np.uint8), codes[wrong, 17]) + 1) % 31
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
            "TYSHXYDM": matrix_to_strings(codes),
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
            "ZS_XZQHDM": matrix_to_strings(regions),
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
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
        for stmt in DDL.split(";"):
            if stmt.strip():
                cur.execute(stmt)
        cur.adbc_ingest(TABLE, table, mode="append")
        conn.commit()
