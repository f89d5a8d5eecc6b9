"""Deterministic synthetic ``T_BJ_GCXX`` (办件过程信息), the 综合窗口 platform's append-only step log.

Cases come from the city: applicants are persons of the 公安 registry (自然人) or entities of
the 市场监管 registry (法人); accepting departments are the city's organs with their USCCs.
About ``plan.volume("cases_per_year") / 250`` cases are submitted each working day; each runs
``SQ → SL → SP → BJ``, or ends in ``BYSL`` (不予受理) or ``CH`` (撤回); a 好差评 ``MYD`` comes on
the ``BJ`` row or on a later ``BJ`` row. Every row has an arrival time; ``LSH`` numbers rows in
arrival order, so the database as of a day holds exactly the rows arrived by then.

Dirt (departments.md): a ``SL`` row that arrives after its case's ``BJ`` (a higher ``LSH`` for
the earlier step, often on the next day), applicants whose number fails its check, and
evaluations for cases the system never completed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulators.city import CityPlan
from simulators.sc.entities import organ_uscc
from simulators.standards import id_check_characters, uscc_check_characters

TABLE = "T_BJ_GCXX"
DATABASE = "sim_zw"
BASE_DAY = dt.date(2026, 11, 1)
"""The log as of the end of this day is the full load; day ``k`` of cases is BASE_DAY + k."""
HISTORY_DAYS = 30
"""Calendar days of cases before BASE_DAY in the full load."""
LIFETIME_DAYS = 45
"""No row of a case arrives later than this many days after its submission."""

DDL = f"""
CREATE TABLE IF NOT EXISTS "{TABLE}" (
    "LSH" bigint PRIMARY KEY,
    "SBLSH" varchar(50),
    "SXBM" varchar(50),
    "SXMC" varchar(200),
    "SQRLX" char(1),
    "SQRMC" varchar(200),
    "SQRZJHM" varchar(18),
    "SLBMDM" char(18),
    "SLBMMC" varchar(100),
    "QD" char(1),
    "HJ" varchar(4),
    "HJSJ" timestamp without time zone,
    "CNBJSX" integer,
    "BJJG" char(1),
    "MYD" smallint
);
CREATE INDEX IF NOT EXISTS "IDX_{TABLE}_SBLSH" ON "{TABLE}" ("SBLSH");
COMMENT ON TABLE "{TABLE}" IS '办件过程信息 (政务服务中心 step log simulator)';
"""
COLUMNS = ("SBLSH", "SXBM", "SXMC", "SQRLX", "SQRMC", "SQRZJHM", "SLBMDM", "SLBMMC", "QD", "HJ", "HJSJ", "CNBJSX")

DEPARTMENT_NAMES = (
    "银川市行政审批服务局",
    "银川市公安局",
    "银川市人力资源和社会保障局",
    "银川市医疗保障局",
    "银川市市场监督管理局",
    "银川市民政局",
    "银川市住房和城乡建设局",
)
DEPARTMENTS = tuple((name, organ_uscc("640100", 2000 + i)) for i, name in enumerate(DEPARTMENT_NAMES))
"""(name, USCC) of the accepting departments."""

# (12-character basic code, item name, department index, applicant type 1/2, promised working days)
ITEMS = (
    ("000105001000", "企业设立登记", 0, "2", 3),
    ("000105002000", "个体工商户设立登记", 0, "1", 1),
    ("000105005000", "食品经营许可", 4, "2", 10),
    ("000109001000", "户口迁移", 1, "1", 10),
    ("000109004000", "居民身份证换领", 1, "1", 20),
    ("000112001000", "社会保险登记", 2, "2", 5),
    ("000112010000", "职工参保登记", 2, "2", 3),
    ("000113002000", "基本医疗保险关系转移接续", 3, "1", 15),
    ("000106001000", "结婚登记", 5, "1", 1),
    ("000116003000", "建筑工程施工许可", 6, "2", 7),
)
ITEM_TYPE = "1"
"""事项类型 digit in the implementation code (行政许可)."""


def item_code(basic: str, dept_uscc: str) -> str:
    """实施编码: the 12-character basic code, the item type and the implementing organ's USCC."""
    return f"{basic}{ITEM_TYPE}{dept_uscc}"


CHANNELS = np.array(["1", "2", "3", "4"])
CHANNEL_WEIGHTS = np.array([0.40, 0.35, 0.20, 0.05])
FLOW_SHARES = {"not_accepted": 0.06, "withdrawn_early": 0.02, "withdrawn": 0.02}
"""The rest of the cases are completed (SQ → SL → SP → BJ)."""
MYD_WEIGHTS = np.array([0.02, 0.03, 0.10, 0.25, 0.60])
EVALUATED = 0.6
"""Share of completed cases that get an evaluation; half of those on a later row."""
DIRT_RATES = {"out_of_order": 0.03, "bad_applicant_id": 0.003, "evaluation_without_completion": 0.04}
"""out_of_order: of completed cases; bad_applicant_id: of all cases; evaluation_without_completion:
of the cases never completed."""


@dataclass(frozen=True)
class DirtManifest:
    """Case numbers carrying each kind of dirt."""

    cases: dict[str, list[str]]


def _minutes(values: np.ndarray) -> np.ndarray:
    return values.astype("timedelta64[m]")


def _applicants(plan: CityPlan) -> tuple[pa.Table, pa.Table]:
    from simulators.city import entities, persons

    people = persons(plan.persons, plan.seed).select(["GMSFHM", "XM"])
    firms = entities(plan).select(["TYSHXYDM", "ZTMC"])
    return people, firms


def cases_of_day(plan: CityPlan, day: int) -> tuple[pa.Table, DirtManifest]:
    """All rows, ever, of the cases submitted on ``BASE_DAY + day`` (none on a weekend).

    Returns:
        The rows with the source columns (no ``LSH``) plus ``ARRIVAL`` (when the row reaches
        the log), ``ORD`` (its position in the case) and ``LATE`` (a step delivered after a later
        one), and the dirt manifest of these cases.
    """
    date = BASE_DAY + dt.timedelta(days=day)
    kinds = {k: [] for k in DIRT_RATES}
    if date.weekday() >= 5:
        return _empty(), DirtManifest(kinds)
    rng = np.random.default_rng([plan.seed, 12_345, day + 100_000])
    mean = plan.volume("cases_per_year") / 250
    n = int(rng.integers(round(mean * 0.9), round(mean * 1.1) + 1))
    item = rng.integers(0, len(ITEMS), n)
    channel = rng.choice(CHANNELS, n, p=CHANNEL_WEIGHTS)
    promised = np.array([it[4] for it in ITEMS])[item]
    counter = np.isin(channel, ["1", "4"])
    start = np.datetime64(date, "m") + _minutes(np.where(counter, rng.integers(510, 1050, n), rng.integers(0, 1440, n)))
    r = rng.random(n)
    cut = np.cumsum(list(FLOW_SHARES.values()))
    not_accepted, withdrawn_early = r < cut[0], (r >= cut[0]) & (r < cut[1])
    withdrawn, completed = (r >= cut[1]) & (r < cut[2]), r >= cut[2]
    sq = start
    sl = sq + _minutes(rng.integers(10, 20 * 60, n))
    sp = sl + _minutes(rng.integers(60, 60 + promised * 24 * 60))
    bj = sp + _minutes(rng.integers(10, 2 * 24 * 60, n))
    bysl = sq + _minutes(rng.integers(60, 2 * 24 * 60, n))
    ch = np.where(withdrawn_early, sq, sl) + _minutes(rng.integers(30, 3 * 24 * 60, n))
    result = np.where(rng.random(n) < 0.95, "1", "2")
    myd = rng.choice(np.arange(1, 6), n, p=MYD_WEIGHTS)
    evaluated = completed & (rng.random(n) < EVALUATED)
    later_eval = evaluated & (rng.random(n) < 0.5)
    eval_at = bj + _minutes(rng.integers(60, 3 * 24 * 60, n))
    out_of_order = completed & (rng.random(n) < DIRT_RATES["out_of_order"])
    # the SL row reaches the log after BJ, with the next morning's re-sent batch
    next_morning = (bj.astype("datetime64[D]") + np.timedelta64(1, "D")).astype("datetime64[m]")
    sl_arrival = np.where(out_of_order, next_morning + _minutes(rng.integers(8 * 60, 10 * 60, n)), sl)
    orphan_eval = ~completed & (rng.random(n) < DIRT_RATES["evaluation_without_completion"])
    last_hj = np.where(not_accepted, "BYSL", "CH")
    last_at = np.where(not_accepted, bysl, ch)
    bad_id = rng.random(n) < DIRT_RATES["bad_applicant_id"]
    case_no = np.array([f"ZW640100{date:%Y%m%d}{i:06d}" for i in range(n)], dtype=str)

    blocks = []

    def add(mask: np.ndarray, hj, at, arrival, order: int, bjjg=None, score=None, late=None) -> None:
        idx = np.flatnonzero(mask)
        blocks.append(
            {
                "case": idx,
                "HJ": np.broadcast_to(np.asarray(hj), n)[idx],
                "HJSJ": at[idx],
                "ARRIVAL": arrival[idx],
                "ORD": np.full(len(idx), order),
                "BJJG": None if bjjg is None else bjjg[idx],
                "MYD": None if score is None else score[idx],
                "LATE": np.zeros(len(idx), bool) if late is None else late[idx],
            }
        )

    everyone = np.ones(n, bool)
    add(everyone, "SQ", sq, sq, 0)
    add(completed | withdrawn, "SL", sl, sl_arrival, 1, late=out_of_order)
    add(completed, "SP", sp, sp, 2)
    bj_myd = np.where(evaluated & ~later_eval, myd, 0)
    add(completed, "BJ", bj, bj, 3, bjjg=result, score=bj_myd)
    add(later_eval, "BJ", eval_at, eval_at, 4, bjjg=result, score=myd)
    add(not_accepted, "BYSL", bysl, bysl, 3)
    add(withdrawn | withdrawn_early, "CH", ch, ch, 3)
    orphan_at = last_at + _minutes(rng.integers(60, 3 * 24 * 60, n))
    add(orphan_eval, last_hj, orphan_at, orphan_at, 4, score=myd)

    rows = _rows(plan, rng, date, n, blocks, item, channel, promised, case_no, bad_id)
    kinds["out_of_order"] = case_no[out_of_order].tolist()
    kinds["bad_applicant_id"] = case_no[bad_id].tolist()
    kinds["evaluation_without_completion"] = case_no[orphan_eval].tolist()
    return rows, DirtManifest(kinds)


def _rows(
    plan: CityPlan,
    rng: np.random.Generator,
    date: dt.date,
    n: int,
    blocks: list[dict],
    item: np.ndarray,
    channel: np.ndarray,
    promised: np.ndarray,
    case_no: np.ndarray,
    bad_id: np.ndarray,
) -> pa.Table:
    """Case attributes joined to the step rows."""
    people, firms = _applicants(plan)
    org = np.array([it[3] for it in ITEMS])[item] == "2"
    who_p = pa.array(rng.integers(0, people.num_rows, n))
    who_f = pa.array(rng.integers(0, firms.num_rows, n))
    mask = pa.array(org)
    names = pc.if_else(mask, firms["ZTMC"].take(who_f).combine_chunks(), people["XM"].take(who_p).combine_chunks())
    ids = pc.if_else(
        mask,
        firms["TYSHXYDM"].take(who_f).combine_chunks().cast(pa.string()),
        pc.utf8_trim_whitespace(people["GMSFHM"].take(who_p).combine_chunks()),
    ).to_numpy(zero_copy_only=False)
    ids = ids.astype(object)
    for i in np.flatnonzero(bad_id):
        ids[i] = _failing(ids[i] or "", org[i])
    dept = np.array([it[2] for it in ITEMS])[item]
    dept_code = np.array([DEPARTMENTS[d][1] for d in range(len(DEPARTMENTS))])[dept]
    codes = np.array([item_code(it[0], DEPARTMENTS[it[2]][1]) for it in ITEMS])[item]
    case = np.concatenate([b["case"] for b in blocks])
    bjjg = np.concatenate([b["BJJG"] if b["BJJG"] is not None else np.full(len(b["case"]), None) for b in blocks])
    myd = np.concatenate([b["MYD"] if b["MYD"] is not None else np.zeros(len(b["case"]), int) for b in blocks])
    take = pa.array(case)
    rows = pa.table(
        {
            "SBLSH": pa.array(case_no, pa.string()).take(take),
            "SXBM": pa.array(codes).take(take),
            "SXMC": pa.array([it[1] for it in ITEMS]).take(pa.array(item)).take(take),
            "SQRLX": pa.array(np.where(org, "2", "1")).take(take),
            "SQRMC": names.take(take),
            "SQRZJHM": pa.array(ids, pa.string()).take(take),
            "SLBMDM": pa.array(dept_code).take(take),
            "SLBMMC": pa.array(np.array(DEPARTMENT_NAMES)[dept]).take(take),
            "QD": pa.array(channel).take(take),
            "HJ": pa.array(np.concatenate([b["HJ"] for b in blocks])),
            "HJSJ": pa.array(np.concatenate([b["HJSJ"] for b in blocks]).astype("datetime64[us]")),
            "CNBJSX": pa.array(promised.astype(np.int32)).take(take),
            "BJJG": pa.array(bjjg, pa.string()),
            "MYD": pa.array(np.where(myd > 0, myd, 0).astype(np.int16), mask=myd == 0),
            "ARRIVAL": pa.array(np.concatenate([b["ARRIVAL"] for b in blocks]).astype("datetime64[us]")),
            "ORD": pa.array(np.concatenate([b["ORD"] for b in blocks]).astype(np.int8)),
            "LATE": pa.array(np.concatenate([b["LATE"] for b in blocks])),
        }
    )
    return rows.cast(ROW_SCHEMA)


def _failing(number: str, org: bool) -> str:
    """``number`` (18 characters) with a check character that is certainly wrong."""
    if len(number) != 18 or not number.isascii():  # e.g. full-width digits: any ASCII last character is wrong
        return number[:-1] + "#"
    body = np.frombuffer(number[:17].encode(), dtype=np.uint8)[None, :]
    right = chr((uscc_check_characters if org else id_check_characters)(body)[0])
    return number[:17] + ("0" if right != "0" else "1")


ROW_SCHEMA = pa.schema(
    [
        *((c, pa.string()) for c in COLUMNS[:10]),
        ("HJSJ", pa.timestamp("us")),
        ("CNBJSX", pa.int32()),
        ("BJJG", pa.string()),
        ("MYD", pa.int16()),
        ("ARRIVAL", pa.timestamp("us")),
        ("ORD", pa.int8()),
        ("LATE", pa.bool_()),
    ]
)
"""The generated rows: the log's columns but ``LSH``, plus arrival time, position in the case, lateness."""


def _empty() -> pa.Table:
    return ROW_SCHEMA.empty_table()


def stream(plan: CityPlan, first: int, last: int) -> tuple[pa.Table, DirtManifest]:
    """Every row of the cases submitted on days ``first`` .. ``last`` (relative to BASE_DAY), in arrival order."""
    tables, kinds = [], {k: [] for k in DIRT_RATES}
    for day in range(first, last + 1):
        rows, manifest = cases_of_day(plan, day)
        tables.append(rows)
        for k, v in manifest.cases.items():
            kinds[k] += v
    rows = pa.concat_tables(tables)
    order = pc.sort_indices(rows, sort_keys=[("ARRIVAL", "ascending"), ("SBLSH", "ascending"), ("ORD", "ascending")])
    return rows.take(order), DirtManifest(kinds)


def _arrived(rows: pa.Table, start: dt.date | None, end: dt.date) -> pa.Table:
    """Rows arriving in ``[start, end)`` (days; ``start`` None: from the beginning)."""
    keep = pc.less(rows["ARRIVAL"], pa.scalar(dt.datetime.combine(end, dt.time()), pa.timestamp("us")))
    if start is not None:
        after = pc.greater_equal(rows["ARRIVAL"], pa.scalar(dt.datetime.combine(start, dt.time()), pa.timestamp("us")))
        keep = pc.and_(keep, after)
    return rows.filter(keep)


def _append(cur: object, rows: pa.Table, first_lsh: int) -> None:
    lsh = pa.array(np.arange(first_lsh, first_lsh + rows.num_rows, dtype=np.int64))
    out = rows.select([*COLUMNS, "BJJG", "MYD"]).add_column(0, "LSH", lsh)
    cur.adbc_ingest(TABLE, out, mode="append")


def create(uri: str, plan: CityPlan, history_days: int = HISTORY_DAYS) -> tuple[DirtManifest, int]:
    """(Re)create ``T_BJ_GCXX`` at ``uri`` as of the end of BASE_DAY.

    Returns:
        The dirt manifest of the generated cases and the number of rows written.
    """
    import adbc_driver_postgresql.dbapi as adbc

    rows, manifest = stream(plan, -history_days, 0)
    rows = _arrived(rows, None, BASE_DAY + dt.timedelta(days=1))
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
        for stmt in DDL.split(";"):
            if stmt.strip():
                cur.execute(stmt)
        _append(cur, rows, 1)
        cur.execute(f'ANALYZE "{TABLE}"')
        conn.commit()
    return manifest, rows.num_rows


@dataclass(frozen=True)
class DayOfCases:
    """What :func:`apply_day` appended to the log."""

    day: int
    new_cases: int
    steps: int
    late_steps: int
    """Rows delivered after a later step of their case had already arrived on an earlier day."""


def apply_day(uri: str, plan: CityPlan, day: int, history_days: int = HISTORY_DAYS) -> DayOfCases:
    """Append the rows arriving on ``BASE_DAY + day`` (day 1, 2, ... in order) to the log."""
    import adbc_driver_postgresql.dbapi as adbc

    date = BASE_DAY + dt.timedelta(days=day)
    rows, _ = stream(plan, max(-history_days, day - LIFETIME_DAYS), day)
    before = _arrived(rows, None, date)
    today = _arrived(rows, date, date + dt.timedelta(days=1))
    done_before = set(before.filter(pc.equal(before["HJ"], "BJ"))["SBLSH"].to_pylist())
    late = today.filter(today["LATE"])["SBLSH"].to_pylist()
    new_cases = pc.count_distinct(today.filter(pc.equal(today["HJ"], "SQ"))["SBLSH"]).as_py()
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT coalesce(max("LSH"), 0) FROM "{TABLE}"')
        first = int(cur.fetchone()[0]) + 1
        _append(cur, today, first)
        conn.commit()
    return DayOfCases(day, new_cases, today.num_rows, sum(1 for c in late if c in done_before))
