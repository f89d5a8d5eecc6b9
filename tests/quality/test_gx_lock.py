"""Quality checks in several processes at once take turns in the GX home and leave it intact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from hub.settings import hub_home
from quality import gx_offline
from quality.gx_suites import docs_dir, gx_root
from schemas.tables import TABLES

ROOT = Path(__file__).resolve().parents[2]

_HOLDER = """
import logging, sys, time
from pathlib import Path
from quality.gx_lock import locked
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
name, home, journal, release = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
def note(text):
    with journal.open("a") as f:
        f.write(text + "\\n")
with locked(home):
    note(name + " in")
    while name == "A" and not release.exists():
        time.sleep(0.05)
    note(name + " out")
"""

_CHECK = """
import logging, sys
from hub.settings import hub_home
from quality import gx_suites
from schemas.tables import TABLES
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(created).6f %(name)s %(message)s")
logging.getLogger("quality").setLevel(logging.DEBUG)
result = gx_suites.run(sys.argv[1], [TABLES[sys.argv[2]]], home=hub_home())
sys.exit(0 if result.success else 3)
"""


def _python(code: str, *args: str, stderr: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with stderr.open("w") as err:
        return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, stderr=err)


def _wait_for(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def _gx_work(log: str) -> tuple[float, float]:
    """When a check opened the GX context and when it was done with the Data Docs (epoch seconds)."""
    opened = [float(line.split()[0]) for line in log.splitlines() if "opening the context" in line]
    done = [float(line.split()[0]) for line in log.splitlines() if "Data Docs updated" in line]
    assert len(opened) == len(done) == 1, log
    return opened[0], done[0]


def test_a_second_process_waits_for_the_holder(tmp_path: Path) -> None:
    home, journal, release = tmp_path / "gx", tmp_path / "journal", tmp_path / "release"
    a = _python(_HOLDER, "A", str(home), str(journal), str(release), stderr=tmp_path / "a.err")
    _wait_for(lambda: journal.exists() and "A in" in journal.read_text(), "A holds the lock")
    b = _python(_HOLDER, "B", str(home), str(journal), str(release), stderr=tmp_path / "b.err")
    _wait_for(lambda: "waiting for another quality check" in (tmp_path / "b.err").read_text(), "B finds it held")
    release.touch()
    assert a.wait(60) == 0 and b.wait(60) == 0
    assert journal.read_text().split("\n") == ["A in", "A out", "B in", "B out", ""]


def test_two_quality_checks_at_once_leave_the_context_and_data_docs_intact(store: str, tmp_path: Path) -> None:
    import great_expectations as gx

    shutil.rmtree(gx_root(hub_home()), ignore_errors=True)  # both race to create the context
    tables = ["shared.population", "shared.market_entity"]
    checks = [_python(_CHECK, store, t, stderr=tmp_path / f"{t}.err") for t in tables]
    codes = [c.wait(600) for c in checks]
    logs = {t: (tmp_path / f"{t}.err").read_text() for t in tables}
    assert codes == [0, 0], logs
    for table in tables:
        assert f"GX suite {table}: " in logs[table]
    first, second = sorted(_gx_work(logs[t]) for t in tables)
    assert first[1] < second[0], "the two checks worked in the GX home at the same time"

    for path in (gx_root(hub_home()) / "gx").rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # no torn writes
    context = gx.get_context(mode="file", project_root_dir=str(gx_root(hub_home())))
    assert {s.name for s in context.suites.all()} == set(TABLES)
    assert {d.name for d in context.validation_definitions.all()} == set(TABLES)
    assert {c.name for c in context.checkpoints.all()} == {
        "sharehub_standard_tables_population",
        "sharehub_standard_tables_market_entity",
    }
    index = (docs_dir(hub_home()) / "index.html").read_text(encoding="utf-8")
    for name in TABLES:
        assert name in index
    assert 'href="quality_report.html"' in index
    for table in tables:
        schema, name = table.split(".")
        assert list((docs_dir(hub_home()) / "validations" / schema / name).rglob("*.html")), table
    assert all(
        gx_offline.remote_resources(p.read_text(encoding="utf-8")) == [] for p in docs_dir(hub_home()).rglob("*.html")
    )
