"""The file-drop connector on real files: the standard suite, every listed dirt kind, streaming memory."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from connectors.base import SourceError
from connectors.file_drop import FileDropSource, cursor_key
from hub.pipeline import run_ingest
from hub.registry import get
from schemas.mappings.yb_medical_insurance import HEADER
from simulators.city import CityPlan
from simulators.yb.enrolments import DRIFT_COLUMN, Dirt, encode_csv, file_name, full_state, write_file
from simulators.yb.provision import connection_json
from tests.connectors.suite import ConnectorSuite

PLAN = CityPlan(300, 3)
SPEC = get("yb_medical_insurance")


@pytest.fixture(scope="module")
def enrolments() -> pa.Table:
    return full_state(PLAN)


def _source(inbox: Path, **options: int) -> FileDropSource:
    return FileDropSource(name="yb_medical_insurance", inbox=inbox, pattern="YB_CBXX_*.csv", columns=HEADER, **options)


def _deliver(inbox: Path, day: int, table: pa.Table, dirt: Dirt | None = None, *, complete: bool = True) -> Path:
    return write_file(inbox, file_name(day), encode_csv(table, dirt or Dirt(), seed=day), complete=complete)


def _read(source: FileDropSource, cursor: dict | None = None) -> tuple[pa.Table | None, dict | None, list]:
    batches = list(source.read(cursor))
    tables = [b.data for b in batches if b.data.num_rows]
    data = pa.concat_tables(tables, promote_options="default") if tables else None
    return data, (batches[-1].cursor if batches else cursor), batches


class TestFileDropConnectorSuite(ConnectorSuite):
    key_column = "人员编号"

    @pytest.fixture(autouse=True)
    def _inbox(self, tmp_path: Path, enrolments: pa.Table) -> None:
        self.inbox = tmp_path / "inbox"
        third = enrolments.num_rows // 3
        for day in range(3):
            part = enrolments.slice(day * third, third if day < 2 else None)
            _deliver(self.inbox, day, part, Dirt(bom=day == 1, blank_last_line=day == 2))
        self.keys = enrolments["人员编号"].to_pylist()

    def make_source(self) -> FileDropSource:
        return _source(self.inbox, block_size=4 << 10, batch_rows=30)

    def expected_keys(self) -> list[str]:
        return self.keys

    def cursor_key(self, cursor: dict) -> tuple[int, int]:
        return cursor_key(cursor)


def test_gbk_file_reads_every_value_as_written(tmp_path: Path, enrolments: pa.Table) -> None:
    path = _deliver(tmp_path, 0, enrolments, Dirt(quoted_separators=False))
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    data, cursor, _ = _read(_source(tmp_path))
    assert data.select(list(HEADER)).to_pylist() == enrolments.to_pylist()
    assert data["_file"].unique().to_pylist() == [path.name]
    assert data["_record"].to_pylist() == list(range(1, enrolments.num_rows + 1))
    assert cursor["files"][0]["records"] == enrolments.num_rows


def test_utf8_file_with_bom_is_detected(tmp_path: Path, enrolments: pa.Table) -> None:
    path = _deliver(tmp_path, 0, enrolments, Dirt(bom=True, quoted_separators=False))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    data, _, _ = _read(_source(tmp_path))
    assert data.column_names[: len(HEADER)] == list(HEADER)
    assert data.select(list(HEADER)).to_pylist() == enrolments.to_pylist()


def test_blank_last_line_is_fine(tmp_path: Path, enrolments: pa.Table) -> None:
    path = _deliver(tmp_path, 0, enrolments, Dirt(blank_last_line=True))
    assert path.read_bytes().endswith(b"\r\n\r\n")
    data, _, _ = _read(_source(tmp_path))
    assert data.num_rows == enrolments.num_rows


def test_truncated_last_line_names_file_line_and_rule_without_personal_data(
    tmp_path: Path, enrolments: pa.Table
) -> None:
    path = _deliver(tmp_path, 0, enrolments, Dirt(truncated_last_line=True))
    raw = path.read_bytes()
    assert not raw.endswith(b"\r\n")
    last_line = raw.count(b"\r\n") + 1  # physical lines, quoted line breaks included
    with pytest.raises(SourceError) as err:
        _read(_source(tmp_path))
    message = str(err.value)
    assert f"source yb_medical_insurance: {path.name} line {last_line}: truncated last line" in message
    assert "[rule file.truncated_line]" in message
    last = enrolments.slice(enrolments.num_rows - 1)
    for column in ("人员编号", "身份证号", "姓名"):
        assert last[column][0].as_py() not in message


def test_quoted_commas_and_line_breaks_stay_in_their_field(tmp_path: Path, enrolments: pa.Table) -> None:
    path = _deliver(tmp_path, 0, enrolments, Dirt(quoted_separators=True))
    data, _, _ = _read(_source(tmp_path))
    names = data["参保单位名称"].to_pylist()
    assert data.num_rows == enrolments.num_rows
    assert any("," in n for n in names) and any("\r\n" in n for n in names)
    assert b"\r\n\xa3\xa8" in path.read_bytes()  # a CRLF then "（" in GBK, inside a quoted field
    assert data["人员编号"].to_pylist() == enrolments["人员编号"].to_pylist()


def test_drift_column_is_read_and_reported_not_an_error(tmp_path: Path, enrolments: pa.Table) -> None:
    _deliver(tmp_path, 0, enrolments, Dirt(drift_column=True))
    data, _, _ = _read(_source(tmp_path))
    assert DRIFT_COLUMN in data.column_names
    assert SPEC.load_mapping().check_columns(data) == (DRIFT_COLUMN,)


def test_missing_declared_column_fails_the_file_before_any_record(tmp_path: Path, enrolments: pa.Table) -> None:
    path = _deliver(tmp_path, 0, enrolments, Dirt(missing_column=True))
    with pytest.raises(SourceError, match=rf"{path.name} line 1: declared column\(s\) 参保日期 missing"):
        next(iter(_source(tmp_path).read(None)))


def test_file_without_ok_marker_is_not_read(tmp_path: Path, enrolments: pa.Table) -> None:
    _deliver(tmp_path, 0, enrolments.slice(0, 10))
    pending = _deliver(tmp_path, 1, enrolments.slice(10, 10), complete=False)
    assert pending.exists() and not pending.with_suffix(".ok").exists()
    data, cursor, _ = _read(_source(tmp_path))
    assert data["_file"].unique().to_pylist() == [file_name(0)]
    _deliver(tmp_path, 1, enrolments.slice(10, 10))
    later, _, _ = _read(_source(tmp_path), cursor)
    assert later["人员编号"].to_pylist() == enrolments["人员编号"].slice(10, 10).to_pylist()


def test_file_rewritten_over_its_old_marker_waits_for_a_fresh_one(tmp_path: Path, enrolments: pa.Table) -> None:
    path = _deliver(tmp_path, 0, enrolments.slice(0, 10))
    marker = path.with_suffix(".ok")
    stamp = marker.stat().st_mtime_ns
    path.write_bytes(encode_csv(enrolments.slice(0, 30), Dirt())[:500])  # resent in place, half written
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    assert _read(_source(tmp_path))[2] == []
    write_file(tmp_path, path.name, encode_csv(enrolments.slice(0, 30), Dirt()))
    data, _, _ = _read(_source(tmp_path))
    assert data.num_rows == 30


def test_redelivered_content_is_recorded_and_skipped(tmp_path: Path, enrolments: pa.Table) -> None:
    first = _deliver(tmp_path, 0, enrolments.slice(0, 20))
    _, cursor, _ = _read(_source(tmp_path))
    assert _read(_source(tmp_path), cursor)[2] == []  # nothing new: nothing read, nothing recorded
    write_file(tmp_path, first.name, first.read_bytes())  # same name and bytes, fresh .ok
    write_file(tmp_path, file_name(1), first.read_bytes())  # same bytes under the next day's name
    data, after, batches = _read(_source(tmp_path), cursor)
    assert data is None and [b.data.num_rows for b in batches] == [0, 0]
    added = after["files"][len(cursor["files"]) :]
    assert [(e["file"], e["duplicate_of"], e["records"]) for e in added] == [
        (first.name, first.name, 0),
        (file_name(1), first.name, 0),
    ]
    assert _read(_source(tmp_path), after)[2] == []


def test_changed_content_under_a_known_name_is_read_again(tmp_path: Path, enrolments: pa.Table) -> None:
    _deliver(tmp_path, 0, enrolments.slice(0, 20))
    _, cursor, _ = _read(_source(tmp_path))
    _deliver(tmp_path, 0, enrolments.slice(0, 21))  # the department resends a corrected file
    data, _, _ = _read(_source(tmp_path), cursor)
    assert data.num_rows == 21


def test_streaming_memory_stays_far_below_the_file_size(tmp_path: Path, enrolments: pa.Table) -> None:
    """A ~300 MB GBK file is read with bounded memory: Arrow and Python peaks both under a tenth of it."""
    block = encode_csv(enrolments, Dirt(quoted_separators=True))
    header_end = block.index(b"\r\n") + 2
    body = block[header_end:]
    path = tmp_path / file_name(0)
    with open(path, "wb") as f:
        f.write(block[:header_end])
        while f.tell() < 300 << 20:
            f.write(body)
    path.with_suffix(".ok").write_bytes(b"")
    size = path.stat().st_size
    source = _source(tmp_path, block_size=256 << 10, batch_rows=20_000)
    baseline = pa.total_allocated_bytes()
    arrow_peak, rows = 0, 0
    tracemalloc.start()
    try:
        for batch in source.read(None):
            rows += batch.data.num_rows
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes() - baseline)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == (size - header_end) // len(body) * enrolments.num_rows
    assert arrow_peak < size / 10, (arrow_peak, size)
    assert python_peak < size / 10, (python_peak, size)


def test_ingest_records_drift_and_keeps_it_in_the_raw_payload(
    tmp_path: Path, enrolments: pa.Table, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_YB_MEDICAL_INSURANCE", connection_json(tmp_path))
    _deliver(tmp_path, 0, enrolments, Dirt(drift_column=True))
    entry = run_ingest(SPEC, "manual__drift", store=store)
    assert entry.balanced and entry.extracted == enrolments.num_rows
    assert entry.drift_columns == [DRIFT_COLUMN]
    with psycopg.connect(store) as conn:
        raw = conn.execute("SELECT raw FROM quarantine.record WHERE source = %s LIMIT 1", (SPEC.name,)).fetchone()
        loaded = conn.execute("SELECT count(*) FROM shared.medical_insurance").fetchone()[0]
    assert raw is not None and DRIFT_COLUMN in raw[0] and raw[0]["_file"] == file_name(0)
    assert loaded == entry.inserted > 0


def test_missing_column_fails_the_batch_and_loads_nothing(
    tmp_path: Path, enrolments: pa.Table, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_YB_MEDICAL_INSURANCE", connection_json(tmp_path))
    _deliver(tmp_path, 0, enrolments.slice(0, 50))
    _deliver(tmp_path, 1, enrolments.slice(50, 50), Dirt(missing_column=True))
    with pytest.raises(SourceError, match=rf"source yb_medical_insurance: {file_name(1)} line 1: .*参保日期"):
        run_ingest(SPEC, "manual__missing", store=store)
    with psycopg.connect(store) as conn:
        loaded = conn.execute("SELECT count(*) FROM shared.medical_insurance").fetchone()[0]
        status, error = conn.execute("SELECT status, error FROM hub.ledger").fetchone()
        cursor = conn.execute("SELECT count(*) FROM hub.cursor").fetchone()[0]
    assert (loaded, cursor, status) == (0, 0, "failed")
    assert "schema.missing_column" in error


def test_duplicate_delivery_is_listed_in_the_store(
    tmp_path: Path, enrolments: pa.Table, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_YB_MEDICAL_INSURANCE", connection_json(tmp_path))
    first = _deliver(tmp_path, 0, enrolments.slice(0, 40))
    run_ingest(SPEC, "manual__1", store=store)
    write_file(tmp_path, first.name, first.read_bytes())
    second = run_ingest(SPEC, "manual__2", store=store)
    assert second.balanced and second.extracted == 0
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT file_name, outcome, duplicate_of, records, batch_id FROM hub.file_delivery ORDER BY batch_id"
        ).fetchall()
    assert rows == [
        (first.name, "loaded", None, 40, f"{SPEC.name}:manual__1"),
        (first.name, "duplicate", first.name, 0, f"{SPEC.name}:manual__2"),
    ]


def test_connection_env_alone_points_at_another_inbox(
    tmp_path: Path, enrolments: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    _deliver(one, 0, enrolments.slice(0, 5))
    _deliver(two, 0, enrolments.slice(5, 7))
    for inbox, expected in ((one, enrolments.slice(0, 5)), (two, enrolments.slice(5, 7))):
        monkeypatch.setenv("AIRFLOW_CONN_YB_MEDICAL_INSURANCE", connection_json(inbox))
        source = SPEC.build_connector()
        assert Path(source.inbox) == inbox.resolve()
        data, _, _ = _read(source)
        assert data["人员编号"].to_pylist() == expected["人员编号"].to_pylist()
    assert json.loads(os.environ["AIRFLOW_CONN_YB_MEDICAL_INSURANCE"])["conn_type"] == "fs"
