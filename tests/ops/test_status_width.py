"""``hub status`` at any width: a full table where it fits, a block per source where not, never a cut name,
every figure the store holds present, and the files a file-drop source rejected listed."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
from rich.cells import cell_len

from hub.ops.status_view import STABLE_WIDTH, console_width
from hub.pipeline import run_ingest
from hub.registry import SOURCES, get
from simulators.city import CityPlan
from simulators.ga import population
from simulators.yb.enrolments import Dirt, encode_csv, file_name, full_state, write_file
from simulators.yb.provision import connection_json
from tests.hub.hubcli import REPO, run_hub, store_env

YB = get("yb_medical_insurance")
GA = get("ga_population")


@pytest.fixture(scope="module")
def enrolments() -> pa.Table:
    return full_state(CityPlan(300, 3))


@pytest.fixture
def loaded_store(
    store: str, ga_source, enrolments: pa.Table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """Two loads of 公安 and one of 医保 whose second file lacks a declared column (rejected as a whole)."""
    run_ingest(GA, "run-1", store=store)
    population.apply_day(ga_source[0], 1, seed=7)
    run_ingest(GA, "run-2", store=store)
    monkeypatch.setenv("AIRFLOW_CONN_YB_MEDICAL_INSURANCE", connection_json(tmp_path))
    write_file(tmp_path, file_name(0), encode_csv(enrolments.slice(0, 60), Dirt(), seed=0))
    bad = write_file(tmp_path, file_name(1), encode_csv(enrolments.slice(60, 40), Dirt(missing_column=True), seed=1))
    run_ingest(YB, "manual__1", store=store)
    return store, bad.name


def _expected(store: str) -> dict[str, list[str]]:
    """Per source, the figures ``hub status`` must show, formatted as it formats them, from SQL on the store."""
    with psycopg.connect(store) as conn:
        last = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT DISTINCT ON (source) source, extracted, inserted, updated, unchanged, quarantined "
                "FROM hub.ledger ORDER BY source, started_at DESC"
            )
        }
        batches = dict(conn.execute("SELECT source, count(*) FROM hub.ledger GROUP BY source"))
        pending = dict(
            conn.execute("SELECT source, count(*) FROM quarantine.record WHERE status = 'pending' GROUP BY source")
        )
    return {
        spec.name: [f"{n:,}" for n in last[spec.name]]
        + [f"{batches[spec.name]:,} (0", f"{pending.get(spec.name, 0):,}"]
        for spec in SOURCES
        if spec.name in last
    }


def _blocks(out: str) -> dict[str, str]:
    """The compact layout cut into its blocks, keyed by the source heading each starts with."""
    names = {s.name for s in SOURCES}
    blocks: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        word = line.split(" ", 1)[0]
        if word in names:
            current = word
            blocks[current] = ""
        elif not line.strip():
            current = None
        if current is not None:
            blocks[current] += line + "\n"
    return blocks


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_status_fits_the_width_with_every_name_whole_and_every_figure(
    loaded_store: tuple[str, str], columns: int
) -> None:
    store, rejected = loaded_store
    done = run_hub(["status"], store_env(store, COLUMNS=str(columns)))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert max(cell_len(line) for line in out.splitlines()) <= columns
    assert "…" not in out  # rich's ellipsis: nothing was cut
    for spec in SOURCES:
        assert re.search(rf"(^|[\s│]){spec.name}([\s│]|$)", out, re.M), (spec.name, out)
    expected = _expected(store)
    assert set(expected) == {"ga_population", "yb_medical_insurance"}
    if columns == 200:  # the full table: one line per source, each figure in its own cell
        for source, figures in expected.items():
            (row,) = [line for line in out.splitlines() if line.startswith(f"│ {source} ")]
            cells = [c.strip() for c in row.split("│")[1:-1]]
            assert cells[3:8] == figures[:5], (source, cells)
            assert cells[8].startswith(figures[5]) and cells[10] == figures[6]
        (yb_row,) = [line for line in out.splitlines() if line.startswith(f"│ {YB.name} ")]
        assert yb_row.rstrip("│ ").endswith("1")  # one rejected file
    else:  # a block per source; a wrapped value still reads the same once the spacing is collapsed
        blocks = {name: " ".join(text.split()) for name, text in _blocks(out).items()}
        assert set(blocks) == {s.name for s in SOURCES}
        for source, figures in expected.items():
            labels = ("extracted", "inserted", "updated", "unchanged", "quarantined")
            for label, figure in zip(labels, figures[:5], strict=True):
                assert f"{label} {figure}" in blocks[source], (source, label, blocks[source])
            assert f"batches {figures[5]} failed)" in blocks[source]
            assert f"quarantine {figures[6]} pending" in blocks[source]
        assert blocks[YB.name].endswith("rejected 1 file") and "rejected 0 files" in blocks[GA.name]
    flat = " ".join(out.split())
    assert f"REJECTED FILE {YB.name} {rejected} (schema.missing_column," in flat
    assert "declared column(s) 参保日期 missing" in flat


def test_status_json_lists_rejected_files_until_a_corrected_one_loads(
    loaded_store: tuple[str, str], enrolments: pa.Table, tmp_path: Path
) -> None:
    store, rejected = loaded_store
    env = store_env(store)
    sources = {s["source"]: s for s in json.loads(run_hub(["status", "--json"], env).stdout)["sources"]}
    (entry,) = sources[YB.name]["rejected_files"]
    assert (entry["file"], entry["rule"]) == (rejected, "schema.missing_column")
    assert entry["batch_id"] == f"{YB.name}:manual__1"
    assert sources[GA.name]["rejected_files"] == []
    write_file(tmp_path, rejected, encode_csv(enrolments.slice(60, 40), Dirt(), seed=1))  # corrected, fresh .ok
    run_ingest(YB, "manual__2", store=store)
    sources = {s["source"]: s for s in json.loads(run_hub(["status", "--json"], env).stdout)["sources"]}
    assert sources[YB.name]["rejected_files"] == []
    assert "REJECTED FILE" not in run_hub(["status"], env).stdout


def test_status_on_a_terminal_takes_its_width(loaded_store: tuple[str, str]) -> None:
    """No ``COLUMNS``: a pseudo-terminal 70 columns wide gets the blocks, each line within 70 columns."""
    store, _ = loaded_store
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 70, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "status"],
        env=store_env(store, COLUMNS=None, TERM="xterm"),
        cwd=REPO,
        stdin=follower,
        stdout=follower,
        stderr=subprocess.DEVNULL,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    out = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode("utf-8")).replace("\r\n", "\n")
    assert "┏" not in out and set(_blocks(out)) == {s.name for s in SOURCES}
    assert max(cell_len(line) for line in out.splitlines()) <= 70


def test_width_is_columns_else_the_terminal_else_stable() -> None:
    assert console_width({"COLUMNS": "73"}, is_terminal=False) == 73
    assert console_width({"COLUMNS": "73"}, is_terminal=True) == 73
    assert console_width({}, is_terminal=True) is None  # rich asks the terminal
    assert console_width({}, is_terminal=False) == STABLE_WIDTH
    assert console_width({"COLUMNS": "wide"}, is_terminal=False) == STABLE_WIDTH
