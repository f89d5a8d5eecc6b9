"""校核纠错 end to end: filing over the API, the provider's queue, and the correcting ingest batch."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from hub import registry
from hub.access import consumers, objections
from hub.access.workdays import due_date
from hub.api.server import start_in_thread
from hub.pipeline import run_ingest
from hub.store.roles import local_api_uri
from simulators.ga import population
from tests.access.conftest import client

SPEC = registry.get("ga_population")
TODAY = dt.date(2026, 11, 23)


def _clean_person(store: str, source: str) -> tuple[str, str]:
    """A loaded person whose source row carries the same identity number (no repair applied)."""
    with psycopg.connect(source) as src:
        raw = {r[0] for r in src.execute(f'SELECT "GMSFHM" FROM "{population.TABLE}"')}
    with psycopg.connect(store) as conn:
        for id_number, address in conn.execute(
            "SELECT id_number, address FROM shared.population WHERE address IS NOT NULL ORDER BY id_number"
        ):
            if id_number in raw:
                return id_number, address
    raise AssertionError("no clean person")


def test_objection_lifecycle_to_the_correcting_batch(store: str, ga_source) -> None:
    source, _ = ga_source
    run_ingest(SPEC, "run-1", store=store, today=TODAY)
    with psycopg.connect(store, autocommit=True) as conn:
        mz = consumers.register(conn, "MZ", "银川市民政局").token
        ga = consumers.register(conn, "GA", "银川市公安局").token
    id_number, old_address = _clean_person(store, source)
    other_id = _other(store, id_number)
    server = start_in_thread(local_api_uri(store))
    try:
        with client(server.url, mz) as http:
            r = http.post(
                "/v1/objections",
                json={
                    "resource": "640100-GA-0001",
                    "record_key": {"id_number": id_number},
                    "field": "address",
                    "claim": "申请人户籍地址已变更, 与共享数据不一致",
                },
            )
            assert r.status_code == 200, r.text
            filed = r.json()
            assert filed["status"] == "filed" and filed["provider"] == "GA"
            with psycopg.connect(store) as conn:
                assert filed["due_on"] == due_date(conn, dt.date.today(), 10).isoformat()
            bad = http.post(
                "/v1/objections",
                json={"resource": "640100-GA-0001", "record_key": {"name": "x"}, "claim": "错误"},
            )
            assert bad.status_code == 403 and "record key" in bad.json()["detail"]
            second = http.post(
                "/v1/objections",
                json={"resource": "640100-GA-0001", "record_key": {"id_number": other_id}, "claim": "姓名有误"},
            ).json()
        oid = filed["id"]
        with client(server.url, ga) as http:
            queue = http.get("/v1/objections").json()["queue"]
            assert [o["id"] for o in queue] == [oid, second["id"]]
            assert http.post(f"/v1/objections/{oid}/review").json()["status"] == "in_review"
            early = http.post(f"/v1/objections/{oid}/resolution", json={"answer": "已更正", "corrected": True})
            assert early.status_code == 403 and "has not changed" in early.json()["detail"]
            confirmed = http.post(
                f"/v1/objections/{second['id']}/resolution", json={"answer": "经核实姓名无误", "corrected": False}
            ).json()
            assert confirmed["status"] == "confirmed" and confirmed["correcting_batch"] is None
        with client(server.url, mz) as http:  # the filer cannot resolve the provider's objection
            r = http.post(f"/v1/objections/{oid}/resolution", json={"answer": "x", "corrected": False})
            assert r.status_code == 403

        # 公安 corrects the address at the source; the next ingest carries it into the store
        with psycopg.connect(source, autocommit=True) as src:
            src.execute(
                f'UPDATE "{population.TABLE}" SET "HJDZ_XZ" = %s, '
                f'"GXSJ" = (SELECT max("GXSJ") FROM "{population.TABLE}") + interval \'1 minute\' WHERE "GMSFHM" = %s',
                ("宁夏回族自治区银川市金凤区北京中路168号", id_number),
            )
        second_run = run_ingest(SPEC, "run-2", store=store, today=TODAY)
        assert second_run.updated == 1 and second_run.balanced

        with client(server.url, ga) as http:
            done = http.post(
                f"/v1/objections/{oid}/resolution", json={"answer": "已按户籍档案更正地址", "corrected": True}
            ).json()
        assert (
            done["status"] == "corrected" and done["correcting_batch"] == second_run.batch_id == "ga_population:run-2"
        )
        with client(server.url, mz) as http:
            mine = {o["id"]: o for o in http.get("/v1/objections").json()["filed"]}
        assert mine[oid]["answer"] == "已按户籍档案更正地址" and mine[oid]["correcting_batch"] == "ga_population:run-2"
    finally:
        server.stop()
    with psycopg.connect(store) as conn:
        assert (
            conn.execute("SELECT address FROM shared.population WHERE id_number = %s", (id_number,)).fetchone()[0]
            != old_address
        )
        assert conn.execute("SELECT 1 FROM hub.ledger WHERE batch_id = %s", (done["correcting_batch"],)).fetchone()
        trail = conn.execute(
            "SELECT dept_code, action, outcome FROM access.audit WHERE action LIKE 'objection%%' ORDER BY seq"
        ).fetchall()
    assert trail == [
        ("MZ", "objection.file", "allowed"),
        ("MZ", "objection.file", "refused"),
        ("MZ", "objection.file", "allowed"),
        ("GA", "objection.review", "allowed"),
        ("GA", "objection", "refused"),
        ("GA", "objection.resolve", "allowed"),
        ("MZ", "objection", "refused"),
        ("GA", "objection.resolve", "allowed"),
    ]


def _other(store: str, not_this: str) -> str:
    with psycopg.connect(store) as conn:
        return conn.execute(
            "SELECT id_number FROM shared.population WHERE id_number <> %s ORDER BY id_number DESC LIMIT 1", (not_this,)
        ).fetchone()[0]


def test_closed_objection_cannot_be_reopened(store: str, ga_source) -> None:
    run_ingest(SPEC, "run-1", store=store, today=TODAY)
    with psycopg.connect(store, autocommit=True) as conn:
        consumers.register(conn, "MZ", "银川市民政局")
        from hub.access.catalogue import resolve

        table = resolve("shared.population")
        oid = objections.file(conn, "MZ", table, {"id_number": _other(store, "")}, None, "民族有误")
        objections.resolve_objection(conn, oid, "GA", "经核实无误", corrected=False)
        with pytest.raises(objections.AccessDenied, match="already confirmed"):
            objections.start_review(conn, oid, "GA")
