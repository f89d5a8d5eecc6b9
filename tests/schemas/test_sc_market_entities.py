"""``T_SCZT_DJXX`` → ``shared.market_entity``: the mapping and its load on the real store."""

from __future__ import annotations

import datetime as dt
import decimal

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa
import pytest

from hub import registry
from hub.pipeline import run_ingest
from schemas.mappings.sc_market_entities import MAPPING
from schemas.standards import uscc
from simulators.city import CityPlan, persons
from simulators.sc import entities as sc
from tests.conftest import connection_env, fresh_database

SPEC = registry.get("sc_market_entities")
TODAY = dt.date(2026, 11, 23)
PLAN = CityPlan(20_000, 5)


@pytest.fixture
def sc_source(monkeypatch: pytest.MonkeyPatch):
    uri = fresh_database("sim_sc")
    table, manifest = sc.generate(3_000, PLAN.seed, persons(PLAN.persons, PLAN.seed))
    sc.create(uri, table)
    monkeypatch.setenv("AIRFLOW_CONN_SC_MARKET_ENTITIES", connection_env(uri))
    return uri, table, manifest


def _raw(uri: str, where: str = "TRUE") -> pa.Table:
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT * FROM "T_SCZT_DJXX" WHERE {where}')
        return cur.fetch_arrow_table()


def test_mapping_types_codes_and_text(sc_source) -> None:
    uri, _, _ = sc_source
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO \"T_SCZT_DJXX\" VALUES ('９１６４０１００MA00000000 ', ' 宁夏Ａ商贸 有限公司 ', '1100', "
            "'张　三', '64010419900101001x', 123.4567, DATE '2020-01-02', DATE '2020-01-03', '银川市市场监督管理局', "
            "'11640100MB0015000X', '2', '宁夏银川市兴庆区 解放西街１号', '640104', '餐饮服务', "
            "TIMESTAMP '2026-11-02 09:30:00')"
        )
        conn.commit()
    raw = _raw(uri, "\"GXSJ\" = TIMESTAMP '2026-11-02 09:30:00'")
    assert isinstance(raw.schema.field("ZCZB").type, pa.BaseExtensionType)  # ADBC's opaque numeric
    row = MAPPING.apply(raw).data.to_pylist()[0]
    assert row["uscc"] == "91640100MA00000000"
    assert row["name"] == "宁夏A商贸 有限公司"
    assert row["legal_rep"] == "张三" and row["legal_rep_id"] == "64010419900101001X"
    assert row["registered_capital"] == decimal.Decimal("123.4567")
    assert row["established_on"] == dt.date(2020, 1, 2) and row["approved_on"] == dt.date(2020, 1, 3)
    assert row["status"] == "REVOKED" and row["entity_type"] == "1100"
    assert row["address"] == "宁夏银川市兴庆区 解放西街1号"
    assert row["source_updated_at"] == dt.datetime(2026, 11, 2, 1, 30, tzinfo=dt.UTC)


def test_every_status_code_maps() -> None:
    assert dict(zip(*_statuses(), strict=True)) == {
        "1": "ACTIVE",
        "2": "REVOKED",
        "3": "CANCELLED",
        "4": "MOVED_OUT",
        "9": None,
    }


def _statuses() -> tuple[list[str], list[str | None]]:
    from schemas.convert import code_map
    from schemas.mappings.sc_market_entities import STATUS_FROM_DJZT

    codes = ["1", "2", "3", "4", "9"]
    return codes, code_map(pa.array(codes), STATUS_FROM_DJZT).to_pylist()


def _q(store: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(store) as conn:
        return conn.execute(sql, params).fetchall()


def test_full_load_latest_wins_wrong_check_quarantined_bad_rep_loaded(store: str, sc_source) -> None:
    _, table, manifest = sc_source
    entry = run_ingest(SPEC, "run-1", store=store, today=TODAY)
    assert entry.balanced and entry.extracted == table.num_rows
    wrong = set(table["TYSHXYDM"].take(pa.array(manifest.rows["wrong_check_character"])).to_pylist())
    dup = table["TYSHXYDM"].take(pa.array(manifest.rows["duplicate_row"])).to_pylist()
    assert entry.rule_counts["uscc.checksum"] == len(wrong)
    assert entry.rule_counts["key.superseded_in_batch"] == len(set(dup) - wrong)
    assert entry.inserted == 3_000 - len(wrong)
    assert entry.quarantined == len(wrong) + len(set(dup) - wrong) + sum(1 for d in dup if d in wrong)
    loaded = {r[0] for r in _q(store, "SELECT uscc FROM shared.market_entity")}
    assert not loaded & wrong and len(loaded) == entry.inserted
    assert all(uscc.check(pa.array(sorted(loaded))).valid)
    # the duplicated codes: the latest GXSJ is loaded, the older row is quarantined as superseded
    for code in set(dup) - wrong:
        latest = max(
            g for c, g in zip(table["TYSHXYDM"].to_pylist(), table["GXSJ"].to_pylist(), strict=True) if c == code
        )
        ((addr, at),) = _q(store, "SELECT address, source_updated_at FROM shared.market_entity WHERE uscc = %s", code)
        assert "旧址" not in addr and at == latest.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
        ((status,),) = _q(
            store,
            "SELECT status FROM quarantine.record WHERE rule = 'key.superseded_in_batch' AND record_ref LIKE %s",
            code + "@%",
        )
        assert status == "superseded"
    # a legal representative whose number fails its check is loaded as delivered
    bad_reps = table["FDDBR_ZJHM"].take(pa.array(manifest.rows["bad_legal_rep_id"])).to_pylist()
    stored = {r[0] for r in _q(store, "SELECT legal_rep_id FROM shared.market_entity")}
    assert bad_reps and set(bad_reps) <= stored
    null_capital = _q(store, "SELECT count(*) FROM shared.market_entity WHERE registered_capital IS NULL")[0][0]
    assert null_capital == _q(store, "SELECT count(*) FROM shared.market_entity WHERE entity_type = '9100'")[0][0]
