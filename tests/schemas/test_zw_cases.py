"""``T_BJ_GCXX`` → ``shared.service_case_step`` and the case state derived from all of a case's steps."""

from __future__ import annotations

import datetime as dt

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa
import pytest
from stdnum.cn import ric

from hub import faults, registry
from hub.pipeline import run_ingest
from hub.store.migrate import migrate
from quality.rules import validate
from schemas.mappings.zw_cases import MAPPING
from schemas.tables.service_case import SERVICE_CASE, SERVICE_CASE_STEP
from simulators.zw import cases
from tests.conftest import connection_env, fresh_database

SPEC = registry.get("zw_cases")
TODAY = dt.date(2026, 11, 23)
DEPT_NAME, DEPT = cases.DEPARTMENTS[1]
T0 = dt.datetime(2026, 11, 2, 9, 0)


def _step(lsh: int, hj: str, minutes: int, case: str = "ZW1", bjjg: str | None = None, myd: int | None = None) -> dict:
    return {
        "LSH": lsh,
        "SBLSH": case,
        "SXBM": cases.item_code("000109001000", DEPT),
        "SXMC": "户口迁移",
        "SQRLX": "1",
        "SQRMC": "王伟",
        "SQRZJHM": "64010419900101001X",
        "SLBMDM": DEPT,
        "SLBMMC": DEPT_NAME,
        "QD": "2" if hj == "SQ" else "1",
        "HJ": hj,
        "HJSJ": T0 + dt.timedelta(minutes=minutes),
        "CNBJSX": 10,
        "BJJG": bjjg,
        "MYD": myd,
    }


def _source(rows: list[dict]) -> str:
    uri = fresh_database("sim_zw")
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        for stmt in cases.DDL.split(";"):
            if stmt.strip():
                cur.execute(stmt)
        conn.commit()
    _append(uri, rows)
    return uri


def _append(uri: str, rows: list[dict]) -> None:
    schema = pa.schema(
        [
            ("LSH", pa.int64()),
            *((c, pa.string()) for c in cases.COLUMNS[:10]),
            ("HJSJ", pa.timestamp("us")),
            ("CNBJSX", pa.int32()),
            ("BJJG", pa.string()),
            ("MYD", pa.int16()),
        ]
    )
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.adbc_ingest(cases.TABLE, pa.Table.from_pylist(rows, schema=schema), mode="append")
        conn.commit()


def _store() -> str:
    uri = fresh_database("store")
    migrate(uri)
    return uri


def _cases(store: str) -> list[tuple]:
    cols = ", ".join(SERVICE_CASE.business_columns)
    with psycopg.connect(store) as conn:
        return conn.execute(f"SELECT {cols} FROM shared.service_case ORDER BY case_no").fetchall()


def _ingest(monkeypatch: pytest.MonkeyPatch, source: str, store: str, run_id: str):
    monkeypatch.setenv("AIRFLOW_CONN_ZW_CASES", connection_env(source))
    entry = run_ingest(SPEC, run_id, store=store, today=TODAY)
    assert entry.balanced
    return entry


IN_ORDER = [
    _step(1, "SQ", 0),
    _step(2, "SL", 30),
    _step(3, "SP", 600),
    _step(4, "BJ", 900, bjjg="1"),
    _step(5, "BJ", 3000, bjjg="1", myd=4),
]
# the same steps, the SL row delivered last (highest LSH)
OUT_OF_ORDER = [
    _step(1, "SQ", 0),
    _step(2, "SP", 600),
    _step(3, "BJ", 900, bjjg="1"),
    _step(4, "BJ", 3000, bjjg="1", myd=4),
    _step(5, "SL", 30),
]


def test_out_of_order_steps_in_separate_batches_give_the_in_order_case(monkeypatch: pytest.MonkeyPatch) -> None:
    in_order_store, in_order_source = _store(), _source(IN_ORDER[:2])
    _ingest(monkeypatch, in_order_source, in_order_store, "r1")
    _append(in_order_source, IN_ORDER[2:])
    _ingest(monkeypatch, in_order_source, in_order_store, "r2")

    late_store, late_source = _store(), _source(OUT_OF_ORDER[:4])
    first = _ingest(monkeypatch, late_source, late_store, "r1")
    assert first.inserted == 4
    (before,) = _cases(late_store)
    row = dict(zip(SERVICE_CASE.business_columns, before, strict=True))
    assert row["status"] == "COMPLETED" and row["accepted_at"] is None and row["version"] == 4
    _append(late_source, OUT_OF_ORDER[4:])
    second = _ingest(monkeypatch, late_source, late_store, "r2")
    assert (second.extracted, second.inserted) == (1, 1)

    assert _cases(late_store) == _cases(in_order_store)
    (after,) = _cases(late_store)
    row = dict(zip(SERVICE_CASE.business_columns, after, strict=True))
    utc8 = dt.timezone(dt.timedelta(hours=8))
    assert row == row | {
        "status": "COMPLETED",
        "version": 5,
        "last_step_no": 5,
        "result": "APPROVED",
        "satisfaction": 4,
        "channel": "WEB",
        "applicant_type": "PERSON",
        "submitted_at": T0.replace(tzinfo=utc8),
        "accepted_at": (T0 + dt.timedelta(minutes=30)).replace(tzinfo=utc8),
        "completed_at": (T0 + dt.timedelta(minutes=900)).replace(tzinfo=utc8),
    }
    # a repeat of the late run changes nothing, neither step nor case
    loaded_at = _scalar(late_store, "SELECT loaded_at FROM shared.service_case")
    again = _ingest(monkeypatch, late_source, late_store, "r2")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    assert _scalar(late_store, "SELECT loaded_at FROM shared.service_case") == loaded_at


def _scalar(store: str, sql: str) -> object:
    with psycopg.connect(store) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        (["SQ"], "SUBMITTED"),
        (["SQ", "SL"], "ACCEPTED"),
        (["SL", "SQ", "SP"], "PROCESSING"),
        (["SQ", "BYSL"], "NOT_ACCEPTED"),
        (["SQ", "SL", "CH"], "WITHDRAWN"),
        (["BJ", "SQ", "CH"], "COMPLETED"),
    ],
)
def test_status_follows_the_set_of_steps(monkeypatch: pytest.MonkeyPatch, steps: list[str], status: str) -> None:
    store = _store()
    rows = [_step(i + 1, hj, 10 * i, bjjg="1" if hj == "BJ" else None) for i, hj in enumerate(steps)]
    _ingest(monkeypatch, _source(rows), store, "r1")
    assert _scalar(store, "SELECT status FROM shared.service_case") == status


def test_evaluation_of_a_never_completed_case_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store()
    rows = [_step(1, "SQ", 0), _step(2, "BYSL", 60), _step(3, "BYSL", 600, myd=1)]
    _ingest(monkeypatch, _source(rows), store, "r1")
    with psycopg.connect(store) as conn:
        status, satisfaction, completed, version = conn.execute(
            "SELECT status, satisfaction, completed_at, version FROM shared.service_case"
        ).fetchone()
    assert (status, satisfaction, completed, version) == ("NOT_ACCEPTED", 1, None, 3)


def test_step_mapping_codes_and_rejects() -> None:
    rows = [_step(1, "SQ", 0), _step(2, "BJ", 60, bjjg="3"), _step(3, "SL", 10, myd=9)]
    rows[2]["SLBMDM"] = DEPT[:17] + ("0" if DEPT[17] != "0" else "1")
    raw = pa.Table.from_pylist(rows)
    mapped = MAPPING.apply(raw)
    data = mapped.data.to_pylist()
    assert data[0]["channel"] == "WEB" and data[0]["applicant_type"] == "PERSON" and data[0]["step_no"] == 1
    assert data[0]["source_updated_at"] == data[0]["step_at"]
    assert mapped.refs.to_pylist()[1] == "ZW1#LSH=2"
    failed = {f.rule: f.mask.tolist() for f in mapped.failures}
    assert failed["result.code_table"] == [False, True, False]
    assert failed["satisfaction.range"] == [False, False, True]
    verdict = validate(SERVICE_CASE_STEP, mapped.data, today=TODAY, extra=mapped.failures)
    assert verdict.rejected.tolist() == [False, True, True]
    assert verdict.counts()["dept_code.checksum"] == 1


def test_a_crash_after_the_derivation_leaves_neither_steps_nor_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    store, source = _store(), _source(IN_ORDER)
    monkeypatch.setenv("HUB_FAILPOINTS", "load.before_commit")
    monkeypatch.setenv("AIRFLOW_CONN_ZW_CASES", connection_env(source))
    with pytest.raises(faults.InjectedFault):
        run_ingest(SPEC, "r1", store=store, today=TODAY)
    assert _scalar(store, "SELECT count(*) FROM shared.service_case_step") == 0
    assert _scalar(store, "SELECT count(*) FROM shared.service_case") == 0
    monkeypatch.delenv("HUB_FAILPOINTS")
    entry = _ingest(monkeypatch, source, store, "r1")
    assert entry.inserted == 5 and _scalar(store, "SELECT version FROM shared.service_case") == 5


def test_steps_are_indexed_by_case_for_the_derivation() -> None:
    store = _store()
    with psycopg.connect(store) as conn:
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'shared' AND tablename = 'service_case_step'"
        ).fetchall()
    assert any("(case_no)" in i[0] for i in indexes)
    assert migrate(store) == []  # the declared index is part of the table's fingerprint: nothing to redo


def test_a_persons_legacy_15_digit_number_is_upgraded_and_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    legacy = "640104900101001"  # GB 11643-1989: region, YYMMDD, sequence
    upgraded = "64010419900101001" + ric.calc_check_digit("640104199001010010")  # stdnum ignores the last digit
    org_number = "640100000012345"  # a 15-digit business registration number: not an identity number
    steps = [
        _step(1, "SQ", 0, case="ZW1") | {"SQRZJHM": legacy},
        _step(2, "SL", 30, case="ZW1") | {"SQRZJHM": f" {legacy.upper()} "},
        _step(3, "SQ", 0, case="ZW2") | {"SQRLX": "2", "SQRMC": "宁夏测试有限公司", "SQRZJHM": org_number},
        _step(4, "SQ", 0, case="ZW3"),
    ]
    store = _store()
    _ingest(monkeypatch, _source(steps), store, "r1")
    with psycopg.connect(store) as conn:
        step_rows = conn.execute(
            "SELECT step_no, applicant_id, quality_flags FROM shared.service_case_step ORDER BY step_no"
        ).fetchall()
        case_rows = conn.execute(
            "SELECT case_no, applicant_id, quality_flags FROM shared.service_case ORDER BY case_no"
        ).fetchall()
    assert step_rows == [
        (1, upgraded, "legacy_id_upgraded"),
        (2, upgraded, "legacy_id_upgraded"),
        (3, org_number, None),
        (4, "64010419900101001X", None),
    ]
    assert case_rows == [
        ("ZW1", upgraded, "legacy_id_upgraded"),
        ("ZW2", org_number, None),
        ("ZW3", "64010419900101001X", None),
    ]
