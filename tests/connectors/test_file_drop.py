"""The file-drop connector on real files: the standard suite, every listed dirt kind, streaming memory."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from connectors.file_drop import FileDropSource, cursor_key
from hub.pipeline import run_ingest
from hub.registry import get
from schemas.mappings.yb_medical_insurance import HEADER
from simulators.city import CityPlan
from simulators.yb.enrolments import DRIFT_COLUMN, EXTRA_FIELD, Dirt, encode_csv, file_name, full_state, write_file
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


def _rejected(batches: list) -> list[dict]:
    return [r for b in batches if b.rejected is not None for r in b.rejected.to_pylist()]


def _line_of(raw: bytes, marker: bytes) -> int:
    """The physical line (1-based) holding the first ``marker`` in a file's bytes."""
    return raw[: raw.index(marker)].count(b"\n") + 1


DIRT_KINDS = {
    # dirt: (rule, marker locating the bad line in the file's bytes, or None for the file's last line)
    "nul_byte": ("file.nul_byte", b"\x00"),
    "invalid_byte": ("file.encoding", b"\xff"),
    "extra_field": ("file.field_count", EXTRA_FIELD),
    "truncated_last_line": ("file.truncated_line", None),
    "blank_last_line": ("file.blank_line", None),
}


@pytest.mark.parametrize("bom", [False, True], ids=["gbk", "utf8-bom"])
@pytest.mark.parametrize("kind", list(DIRT_KINDS))
def test_one_bad_line_is_rejected_alone_with_file_line_rule_and_bytes(
    tmp_path: Path, enrolments: pa.Table, kind: str, bom: bool
) -> None:
    """Each listed dirt kind: every other record becomes a row, the bad one a rejected record with its line."""
    rule, marker = DIRT_KINDS[kind]
    path = _deliver(tmp_path, 0, enrolments, Dirt(bom=bom, **{kind: True}))
    raw = path.read_bytes()
    data, cursor, batches = _read(_source(tmp_path, block_size=4 << 10, batch_rows=50))
    [bad] = _rejected(batches)
    if marker is not None:
        line = _line_of(raw, marker)
    elif kind == "truncated_last_line":
        line = raw.count(b"\n") + 1  # the cut line has no line end
    else:
        line = raw.count(b"\n")  # the blank line is the last line end's line
    assert (bad["rule"], bad["source_file"], bad["source_line"]) == (rule, path.name, line)
    assert bad["raw_bytes"] in raw and bad["raw_bytes"].count(b"\n") <= 1
    assert raw.split(b"\n")[line - 1].rstrip(b"\r") == bad["raw_bytes"].rstrip(b"\r\n")
    assert bad["message"].startswith(f"line {line}: ")
    assert "\x00" not in bad["raw"] and json.loads(bad["raw"])["_line"] == line
    number = int(bad["record_ref"].rsplit(":", 1)[1])
    keys = enrolments["人员编号"].to_pylist()
    assert data["人员编号"].to_pylist() == (keys if kind == "blank_last_line" else keys[: number - 1] + keys[number:])
    for column in ("人员编号", "身份证号", "姓名"):  # no personal data in the message
        assert all(v not in bad["message"] for v in enrolments[column].to_pylist() if len(v) > 1)
    extra = 1 if kind == "blank_last_line" else 0
    assert cursor["files"][0]["records"] == enrolments.num_rows + extra == data.num_rows + 1
    assert cursor["files"][0]["quarantined"] == 1


def test_line_numbers_count_quoted_line_breaks(tmp_path: Path, enrolments: pa.Table) -> None:
    """The fast path's ``_line`` is each record's first physical line, with quoted CRLFs counted."""
    path = _deliver(tmp_path, 0, enrolments, Dirt(quoted_separators=True))
    raw = path.read_bytes()
    data, _, _ = _read(_source(tmp_path, block_size=4 << 10, batch_rows=50))
    expected = [_line_of(raw, b"\n" + k.encode() + b",") + 1 for k in data["人员编号"].to_pylist()]
    assert data["_line"].to_pylist() == expected
    assert expected[-1] - expected[0] > data.num_rows - 1  # some records do span lines


def test_resuming_a_dirty_file_from_any_batch_neither_skips_nor_repeats(tmp_path: Path, enrolments: pa.Table) -> None:
    """The switch from the fast to the careful reader keeps record numbers, so every cursor is a resume point."""
    dirt = Dirt(nul_byte=True, invalid_byte=True, extra_field=True, truncated_last_line=True)
    _deliver(tmp_path, 0, enrolments, dirt)
    source = _source(tmp_path, block_size=4 << 10, batch_rows=30)
    batches = list(source.read(None))
    assert len(batches) >= 5
    everything = [(r, "row") for b in batches for r in b.data["_record"].to_pylist()]
    everything += [(r["record_ref"], "rejected") for r in _rejected(batches)]
    final = batches[-1].cursor
    for cut in batches[:-1]:
        head = list(source.read(None, until=cut.cursor))
        tail = list(source.read(cut.cursor, until=final))
        rows = [r for b in head + tail for r in b.data["_record"].to_pylist()]
        refs = [r["record_ref"] for r in _rejected(head + tail)]
        assert sorted(rows) == sorted(r for r, kind in everything if kind == "row")
        assert len(set(rows)) == len(rows)
        assert sorted(refs) == sorted(r for r, kind in everything if kind == "rejected")


def test_missing_declared_column_rejects_that_file_and_the_next_one_loads(tmp_path: Path, enrolments: pa.Table) -> None:
    bad = _deliver(tmp_path, 0, enrolments.slice(0, 20), Dirt(missing_column=True))
    _deliver(tmp_path, 1, enrolments.slice(20, 10))
    data, cursor, _ = _read(_source(tmp_path))
    assert data["_file"].unique().to_pylist() == [file_name(1)]
    first = cursor["files"][0]
    assert (first["file"], first["rejected"], first["records"]) == (bad.name, "schema.missing_column", 0)
    assert f"{bad.name} line 1: declared column(s) 参保日期 missing" in first["reason"]
    _deliver(tmp_path, 0, enrolments.slice(0, 20))  # the department resends it, corrected, with a fresh .ok
    again, _, _ = _read(_source(tmp_path), cursor)
    assert again["人员编号"].to_pylist() == enrolments["人员编号"].slice(0, 20).to_pylist()


def test_a_file_unreadable_throughout_is_rejected_not_quarantined_line_by_line(
    tmp_path: Path, enrolments: pa.Table
) -> None:
    payload = encode_csv(enrolments.slice(0, 40), Dirt())
    header_end = payload.index(b"\r\n") + 2
    garbled = payload[:header_end] + bytes(b ^ 0x80 if b >= 0x80 else b | 0x80 for b in payload[header_end:])
    write_file(tmp_path, file_name(0), garbled)
    batches = list(_source(tmp_path).read(None))
    assert [b.data.num_rows for b in batches] == [0] and not _rejected(batches)
    assert batches[-1].cursor["files"][0]["rejected"] == "file.encoding"


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


def _quarantine(store: str) -> list[tuple]:
    with psycopg.connect(store) as conn:
        return conn.execute(
            "SELECT rule, source_file, source_line, raw_bytes, record_ref FROM quarantine.record "
            "WHERE source = %s AND rule LIKE 'file.%%' ORDER BY id",
            (SPEC.name,),
        ).fetchall()


def _loaded_and_rule_quarantined(store: str) -> tuple[set[str], set[str]]:
    with psycopg.connect(store) as conn:
        loaded = {r[0] for r in conn.execute("SELECT person_no FROM shared.medical_insurance").fetchall()}
        ruled = {
            r[0]
            for r in conn.execute(
                "SELECT raw->>'人员编号' FROM quarantine.record WHERE source = %s AND rule NOT LIKE 'file.%%'",
                (SPEC.name,),
            ).fetchall()
        }
    return loaded, ruled


@pytest.mark.parametrize("kind", list(DIRT_KINDS))
def test_ingest_loads_every_other_row_and_quarantines_the_bad_line(
    tmp_path: Path, enrolments: pa.Table, store: str, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """One dirty line no longer stops the feed: the run succeeds, the ledger balances, the line is in quarantine."""
    monkeypatch.setenv("AIRFLOW_CONN_YB_MEDICAL_INSURANCE", connection_json(tmp_path))
    rule, _ = DIRT_KINDS[kind]
    path = _deliver(tmp_path, 0, enrolments, Dirt(**{kind: True}))
    entry = run_ingest(SPEC, f"manual__{kind}", store=store)
    extra = 1 if kind == "blank_last_line" else 0
    assert entry.balanced and entry.extracted == enrolments.num_rows + extra
    assert entry.rule_counts[rule] == 1
    [(got_rule, file, line, raw_bytes, ref)] = _quarantine(store)
    assert (got_rule, file) == (rule, path.name) and bytes(raw_bytes) in path.read_bytes() and line > 1
    loaded, ruled = _loaded_and_rule_quarantined(store)
    keys = enrolments["人员编号"].to_pylist()
    spoilt = set() if kind == "blank_last_line" else {keys[int(ref.rsplit(":", 1)[1]) - 1]}
    assert loaded | ruled == set(keys) - spoilt and not loaded & spoilt
    assert entry.quarantined == len(ruled) + 1 and entry.inserted == len(loaded)
    with psycopg.connect(store) as conn:  # rows refused by a rule name their file and line too
        unlocated = conn.execute("SELECT count(*) FROM quarantine.record WHERE source_line IS NULL").fetchone()[0]
    assert unlocated == 0


def test_rejected_file_does_not_block_later_files_and_a_corrected_one_is_picked_up(
    tmp_path: Path, enrolments: pa.Table, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_YB_MEDICAL_INSURANCE", connection_json(tmp_path))
    _deliver(tmp_path, 0, enrolments.slice(0, 50))
    bad = _deliver(tmp_path, 1, enrolments.slice(50, 50), Dirt(missing_column=True))
    _deliver(tmp_path, 2, enrolments.slice(100, 50))
    first = run_ingest(SPEC, "manual__1", store=store)
    assert first.balanced and first.extracted == 100
    _deliver(tmp_path, 3, enrolments.slice(150, 50))
    second = run_ingest(SPEC, "manual__2", store=store)  # a later complete file loads as usual
    assert second.balanced and second.extracted == 50
    _deliver(tmp_path, 1, enrolments.slice(50, 50))  # the corrected file, same name, fresh .ok
    third = run_ingest(SPEC, "manual__3", store=store)
    assert third.balanced and third.extracted == 50
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT file_name, outcome, rule, reason, records, batch_id FROM hub.file_delivery "
            "ORDER BY finished_at, file_name"
        ).fetchall()
        loaded = conn.execute("SELECT count(*) FROM shared.medical_insurance").fetchone()[0]
        quarantined = conn.execute("SELECT count(*) FROM quarantine.record").fetchone()[0]
    assert [(r[0], r[1], r[2], r[4], r[5]) for r in rows] == [
        (file_name(0), "loaded", None, 50, f"{SPEC.name}:manual__1"),
        (bad.name, "rejected", "schema.missing_column", 0, f"{SPEC.name}:manual__1"),
        (file_name(2), "loaded", None, 50, f"{SPEC.name}:manual__1"),
        (file_name(3), "loaded", None, 50, f"{SPEC.name}:manual__2"),
        (bad.name, "loaded", None, 50, f"{SPEC.name}:manual__3"),
    ]
    assert "declared column(s) 参保日期 missing" in rows[1][3]
    assert loaded + quarantined == 200


def _versions(table: pa.Table, stamp: str, status: str) -> pa.Table:
    n = table.num_rows
    table = table.set_column(table.schema.get_field_index("变更时间"), "变更时间", pa.array([stamp] * n))
    return table.set_column(table.schema.get_field_index("参保状态"), "参保状态", pa.array([status] * n))


@pytest.mark.parametrize("together", [False, True], ids=["separate-runs", "one-run"])
def test_a_late_correction_never_overwrites_newer_rows(
    tmp_path: Path, enrolments: pa.Table, store: str, monkeypatch: pytest.MonkeyPatch, together: bool
) -> None:
    """The latest 变更时间 wins whatever order the files arrive in."""
    monkeypatch.setenv("AIRFLOW_CONN_YB_MEDICAL_INSURANCE", connection_json(tmp_path))
    rows = enrolments.slice(0, 30)
    _deliver(tmp_path, 2, _versions(rows, "2026-11-03 10:00:00", "4"))  # the newer state: terminated
    if not together:
        assert run_ingest(SPEC, "manual__new", store=store).balanced
    newcomer = enrolments.slice(30, 5)
    late = pa.concat_tables(
        [_versions(rows, "2026-11-02 09:00:00", "2"), _versions(newcomer, "2026-11-02 09:00:00", "1")]
    )
    _deliver(tmp_path, 1, late)  # an older file arriving late (a correction of day 1)
    entry = run_ingest(SPEC, "manual__late", store=store)
    assert entry.balanced
    with psycopg.connect(store) as conn:
        states = dict(conn.execute("SELECT person_no, status FROM shared.medical_insurance").fetchall())
    for key in rows["人员编号"].to_pylist():
        assert states.get(key, "TERMINATED") == "TERMINATED"
    assert {states.get(k) for k in newcomer["人员编号"].to_pylist()} <= {"ACTIVE", None}
    assert any(states.get(k) == "ACTIVE" for k in newcomer["人员编号"].to_pylist())


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


def test_a_stray_quote_costs_its_own_line_only(tmp_path: Path, enrolments: pa.Table) -> None:
    """An opening quote nothing closes would swallow the rest of the file; only its line is rejected."""
    payload = encode_csv(enrolments, Dirt(quoted_separators=False))
    key = enrolments["人员编号"][100].as_py().encode()
    at = payload.index(b"\r\n" + key + b",") + 2 + len(key) + 1
    write_file(tmp_path, file_name(0), payload[:at] + b'"' + payload[at:])
    data, cursor, batches = _read(_source(tmp_path, block_size=4 << 10, batch_rows=50))
    [bad] = _rejected(batches)
    assert (bad["rule"], bad["source_line"]) == ("file.unclosed_quote", 102)
    keys = enrolments["人员编号"].to_pylist()
    assert data["人员编号"].to_pylist() == keys[:100] + keys[101:]
    assert cursor["files"][0]["records"] == enrolments.num_rows
