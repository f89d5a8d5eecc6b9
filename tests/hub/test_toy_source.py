"""A sixth source is one declaration and one mapping: registered here and nowhere else, it gets its
DAG, its gates, a status row, a catalogue entry and lineage; the deployment check names it.

The toy is a 民政局 (MZ) list of elderly-care homes, delivered as daily CSV files into an inbox,
feeding a standard table of its own. Declaration, mapping and table live in this module; the test
only appends the declaration to ``hub.registry.SOURCES`` and the table to ``schemas.tables.TABLES``,
as a newcomer appends them to those files.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

from connectors.settings import FileDrop
from hub import registry
from hub.registry import SourceSpec, WaitForFile
from hub.settings import PROJECT_ROOT, dags_folder
from quality.gates import GateConfig, GateFailed
from schemas import text
from schemas.convert import local_timestamps
from schemas.failure import Failure
from schemas.mapping import TIME_OF_DAY, MappedBatch, Mapping, parse_timestamps, record_refs
from schemas.model import DataType, Field, Table, arrow_schema
from schemas.tables import TABLES
from tests.conftest import fresh_database
from tests.hub.test_deployment import not_provided

CARE_HOME = Table(
    schema="shared",
    name="care_home",
    code="640100-MZ-0001",
    title="养老机构信息",
    provider="MZ",
    summary="Elderly-care homes registered with the 民政局, one row per home (a test's toy source).",
    update_cycle="daily",
    fields=(
        Field("home_code", DataType.TEXT, "机构代码", nullable=False, key=True),
        Field("name", DataType.TEXT, "机构名称", nullable=False, rules=("required", "text_hygiene"), length=100),
        Field("beds", DataType.INTEGER, "床位数"),
        Field("source_updated_at", DataType.TIMESTAMP, "源系统更新时间", nullable=False),
    ),
)

HEADER = ("机构代码", "机构名称", "床位数", "更新时间")
GXSJ = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}} {TIME_OF_DAY}$"


def transform(raw: pa.Table) -> MappedBatch:
    """Map a raw 养老机构 delivery to ``shared.care_home``."""
    updated, bad_time = parse_timestamps(raw["更新时间"], GXSJ, pa.timestamp("us"))
    columns = {
        "home_code": text.clean_code(raw["机构代码"]),
        "name": text.clean_text(raw["机构名称"]),
        "beds": pc.cast(text.clean_code(raw["床位数"]), pa.int64()),
        "source_updated_at": local_timestamps(updated),
    }
    schema = arrow_schema(CARE_HOME)
    data = pa.Table.from_arrays([pc.cast(columns[f.name], f.type) for f in schema], schema=schema.remove_metadata())
    failures = (Failure("source_updated_at.invalid", "source_updated_at", "更新时间 is not a real time", bad_time),)
    return MappedBatch(data=data, refs=record_refs(raw["机构代码"], raw["更新时间"]), failures=failures)


MAPPING = Mapping(
    source="toy_care_homes",
    table=CARE_HOME,
    source_columns=(*HEADER, "_file", "_record", "_line"),
    field_sources={"home_code": "机构代码", "name": "机构名称", "beds": "床位数", "source_updated_at": "更新时间"},
    transform=transform,
)

TOY = SourceSpec(
    name="toy_care_homes",
    department="MZ",
    title="民政局 养老机构信息 (daily file drop MZ_YLJG_<YYYYMMDD>.csv)",
    connector=FileDrop(pattern="MZ_YLJG_*.csv"),
    sensor=WaitForFile(path="MZ_YLJG_*.ok"),
    mapping=f"{__name__}:MAPPING",
    table="shared.care_home",
    schedule="@daily",
    gates=GateConfig(max_quarantine_rate=0.2, min_rows=5),
    description="Reads the 民政 care-home deliveries into `shared.care_home`.",
)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Register the toy source and its new standard table, give it its inbox connection; returns the inbox.

    A source feeding an existing table needs no table declaration; this one brings its own, which
    a real source declares in ``schemas/tables/`` (that declaration is the catalogue entry).
    """
    import json

    monkeypatch.setattr(registry, "SOURCES", (*registry.SOURCES, TOY))
    monkeypatch.setitem(TABLES, CARE_HOME.qualified_name, CARE_HOME)
    inbox = tmp_path / "mz-inbox"
    inbox.mkdir()
    monkeypatch.setenv("AIRFLOW_CONN_TOY_CARE_HOMES", json.dumps({"conn_type": "fs", "extra": {"path": str(inbox)}}))
    return inbox


@pytest.fixture
def toy_store(toy: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A shared store migrated with the toy registered (so its table exists), set as ``hub_store``."""
    from hub.store.migrate import migrate
    from tests.conftest import connection_env

    uri = fresh_database("store_toy")
    migrate(uri)
    monkeypatch.setenv("AIRFLOW_CONN_HUB_STORE", connection_env(uri))
    return uri


def _deliver(inbox: Path, rows: list[tuple[str, str, str, str]]) -> None:
    lines = [",".join(HEADER), *(",".join(r) for r in rows)]
    (inbox / "MZ_YLJG_20261128.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (inbox / "MZ_YLJG_20261128.ok").write_bytes(b"")


def _homes(n: int, *, nameless: int = 0) -> list[tuple[str, str, str, str]]:
    return [
        (f"MZ{i:04d}", "" if i < nameless else f"第{i}养老院", str(20 + i), f"2026-11-28 08:{i:02d}:00")
        for i in range(n)
    ]


def test_the_toy_gets_a_dag_like_every_source(toy: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.standard.sensors.filesystem import FileSensor

    bag = DagBag(dag_folder=str(dags_folder() / "ingest_sources.py"))
    assert bag.import_errors == {}
    assert {d for d in bag.dag_ids if d.startswith("ingest_")} == {s.dag_id for s in registry.SOURCES}
    dag = bag.dags["ingest_toy_care_homes"]
    assert dag.schedule == "@daily" and dag.catchup is False and {"sharehub", "ingest", "MZ"} <= set(dag.tags)
    assert "shared.care_home" in dag.doc_md and "民政局 养老机构信息" in dag.doc_md
    assert [o.name for o in dag.get_task("ingest").outlets] == ["shared.care_home"]
    wait = dag.get_task("wait_for_delivery")
    assert isinstance(wait, FileSensor) and wait.deferrable and wait.fs_conn_id == "toy_care_homes"
    assert wait.filepath == "MZ_YLJG_*.ok" and wait.downstream_task_ids == {"ingest"}
    assert dag.deadline is not None


def test_the_toy_loads_behind_its_gates_and_shows_in_status_and_catalogue(toy: Path, toy_store: str) -> None:
    from hub.access.catalogue import entries
    from hub.ops import status
    from hub.pipeline import run_ingest

    _deliver(toy, _homes(10, nameless=4))  # 40% nameless: above the toy's own 20% gate
    with pytest.raises(GateFailed, match=r"source toy_care_homes: gate max_quarantine_rate failed: 4 of 10 rows"):
        run_ingest(TOY, "run-1", store=toy_store)

    _deliver(toy, _homes(10, nameless=1))  # the department re-delivers the day's file, 10% nameless
    entry = run_ingest(TOY, "run-2", store=toy_store)
    assert entry.status == "succeeded" and (entry.extracted, entry.inserted, entry.quarantined) == (10, 9, 1)

    row = next(s for s in status.collect(toy_store)["sources"] if s["source"] == "toy_care_homes")
    assert (row["department"], row["table"], row["quarantine_pending"]) == ("MZ", "shared.care_home", 1)
    assert row["last_run"]["status"] == "succeeded" and row["ledger"] == {"batches": 2, "failed": 1, "extracted": 10}
    assert row["freshness"]["late"] is False

    with psycopg.connect(toy_store) as conn:
        listed = {e.table: e for e in entries(conn)}
    care = listed["shared.care_home"]
    assert (care.code, care.provider, care.row_count) == ("640100-MZ-0001", "MZ", 9)
    assert [f["name"] for f in care.fields][:4] == ["home_code", "name", "beds", "source_updated_at"]


@pytest.mark.e2e
def test_a_real_run_of_the_toy_dag_passes_and_emits_lineage(
    airflow_db, toy: Path, toy_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dag.test()``: wait for the marker, ingest, verify the ledger, quality check; OpenLineage names the table."""
    import datetime as dt
    import json

    from devkit.dagrun import run_dag_once
    from hub import airflow_env

    lineage = airflow_env.lineage_file()  # the session's, where the OpenLineage transport writes
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))  # the toy's GX suite stays out of the session's project
    before = len(lineage.read_text().splitlines()) if lineage.exists() else 0
    _deliver(toy, _homes(10))
    _run_id, state = run_dag_once("ingest_toy_care_homes", dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    assert state == "success"
    events = [json.loads(line) for line in lineage.read_text().splitlines()[before:] if line.strip()]
    complete = next(
        e for e in events if e["job"]["name"] == "ingest_toy_care_homes.ingest" and e["eventType"] == "COMPLETE"
    )
    assert [(o["namespace"], o["name"]) for o in complete["outputs"]] == [
        ("postgres://hub-store:5432", "sharehub.shared.care_home")
    ]
    assert complete["inputs"] == []  # a file drop names no input dataset


def test_the_deployment_check_names_a_source_compose_does_not_provide(toy: Path) -> None:
    from hub.deployment import connections

    env_example = (PROJECT_ROOT / ".env.example").read_text()
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    assert not_provided(connections(), env_example, compose) == [
        "AIRFLOW_CONN_TOY_CARE_HOMES (source toy_care_homes: 民政局 养老机构信息 (daily file drop "
        "MZ_YLJG_<YYYYMMDD>.csv)) is missing from .env.example and from docker-compose.yml x-airflow-common"
    ]
