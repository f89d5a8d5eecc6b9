"""``python -m devkit demo --json`` (``make demo``) as a user runs it, then the commands the README sends them to.

A fresh HUB_HOME, its own embedded server, real DAG runs, the real data API; ``XDG_RUNTIME_DIR``
unset as in containers, cron and CI. Afterwards ``hub ledger``, ``hub status`` and the store's
URL must show the demo's data, and the report's new sections must agree with the store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.e2e

HUB = Path(sys.executable).parent / "hub"
REPO = Path(__file__).resolve().parents[2]
SCALE = 1500


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "XDG_RUNTIME_DIR"}
    env["HUB_HOME"] = str(home)
    return env


def _hub(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HUB), *args], capture_output=True, text=True, env=env, timeout=timeout)


def _devkit(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m devkit ARGS`` from the repository, as ``make demo`` runs it."""
    argv = [sys.executable, "-m", "devkit", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[dict[str, Any], str, dict[str, str], str]]:
    """The demo run once: its report, its stderr, the environment and the URL of its store (sharehub).

    Its home is not under pytest's base temp: another pytest session starting meanwhile makes
    /tmp/pytest-of-<user> private again, and the server (running as its own user) dies.
    """
    from hub.settings import HUB_DATABASE
    from hub.store import embedded

    home = Path(tempfile.mkdtemp(prefix="sharehub-demo-test-"))
    env = _env(home)
    try:
        out = _devkit(env, "demo", "--json", "--scale", str(SCALE), timeout=1200)
        assert out.returncode == 0, out.stderr[-3000:]
        admin = embedded.admin_uri(home)
        assert admin is not None, "the embedded server does not run after the demo"
        yield json.loads(out.stdout), out.stderr, env, embedded.database_uri(admin, HUB_DATABASE)
    finally:
        _hub(env, "store", "stop", timeout=120)
        shutil.rmtree(home, ignore_errors=True)


def test_demo_json_balances_every_run(demo: tuple) -> None:
    report = demo[0]
    from hub.registry import SOURCES

    assert set(report["sources"]) == {s.name for s in SOURCES}
    assert len(report["runs"]) == 2 * len(report["sources"])
    for run in report["runs"]:
        assert run["state"] == "success"
        assert run["extracted"] == run["inserted"] + run["updated"] + run["unchanged"] + run["quarantined"]
    sc_full, sc_day = (r for r in report["runs"] if r["source"] == "sc_market_entities")
    assert sc_full["quarantined"] > 0 and sc_day["extracted"] == report["changes"]["sc_market_entities"]["total"]
    zw_full, zw_day = (r for r in report["runs"] if r["source"] == "zw_cases")
    assert zw_full["extracted"] > 0 and zw_day["extracted"] == report["changes"]["zw_cases"]["steps"]
    yb_full, yb_day = (r for r in report["runs"] if r["source"] == "yb_medical_insurance")
    assert yb_full["extracted"] == 1400 and yb_day["extracted"] == report["changes"]["yb_medical_insurance"]["rows"]
    rs_full, rs_day = (r for r in report["runs"] if r["source"] == "rs_social_insurance")
    assert rs_full["extracted"] == 2250 and rs_day["extracted"] == report["changes"]["rs_social_insurance"]["total"]
    full, incremental = (r for r in report["runs"] if r["source"] == "ga_population")
    assert full["extracted"] == SCALE and full["quarantined"] > 0
    assert incremental["extracted"] == report["changes"]["ga_population"]["births"] + sum(
        report["changes"]["ga_population"][k] for k in ("deaths", "moves", "corrections")
    )
    assert report["sources"]["ga_population"] == {
        k: incremental[k] for k in ("extracted", "inserted", "updated", "unchanged", "quarantined")
    }
    # certificates and case records reached the provincial platform and reconcile
    assert set(report["push"]) == {"certificates", "cases"}
    for kind, counts in report["push"].items():
        assert counts["accepted"] + counts["duplicate"] > 0, kind
        assert counts["pending"] == 0, kind
        assert report["reconciliation"][kind] == "matched", kind


def test_demo_announces_each_step_and_the_reset_on_stderr(demo: tuple) -> None:
    report, stderr = demo[0], demo[1]
    steps = [line for line in stderr.splitlines() if re.match(r"\[\s*\d+/\d+\s+\d+:\d\d\] ", line)]
    total = int(re.match(r"\[\s*\d+/(\d+)", steps[0]).group(1))
    numbers = [int(re.match(r"\[\s*(\d+)/", line).group(1)) for line in steps]
    assert numbers == [*range(1, total + 1), total], steps  # one line per step, then how it ended
    assert "resetting the store: database sharehub" in steps[0] and report["store"]["database"] == "sharehub"
    assert steps[-1].endswith(f"done; Airflow and task logs in {report['log']}")
    assert any("efficiency" in line for line in steps) and any("data API" in line for line in steps)


def test_hub_ledger_status_and_the_store_url_show_the_demo(demo: tuple) -> None:
    report, _, env, url = demo
    batches = {f"{r['source']}:{r['run_id']}" for r in report["runs"]}

    ledger = _hub(env, "ledger", "--json")
    assert ledger.returncode == 0, ledger.stderr[-2000:]
    assert {e["batch_id"] for e in json.loads(ledger.stdout)} == batches

    status = _hub(env, "status", "--json")
    assert status.returncode == 0, status.stderr[-2000:]
    last = {r["source"]: r["run_id"] for r in report["runs"]}  # the day-1 run, the later of each source
    for source in json.loads(status.stdout)["sources"]:
        assert source["last_run"]["batch_id"] == f"{source['source']}:{last[source['source']]}"
        assert source["ledger"]["batches"] == 2

    printed = _hub(env, "store", "url")
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert printed.stdout == f"{url}\n"  # the URL alone, for psql "$(hub store url)"
    with psycopg.connect(printed.stdout.strip()) as conn:
        persons = conn.execute("SELECT count(*) FROM shared.population").fetchone()[0]
    assert persons == sum(r["inserted"] for r in report["runs"] if r["source"] == "ga_population") > 0


def test_efficiency_section_is_the_store_s_service_efficiency(demo: tuple) -> None:
    report, _, _, url = demo
    from simulators.zw.cases import BASE_DAY

    eff = report["efficiency"]
    assert eff["date"] == eff["as_of"] == (BASE_DAY + dt.timedelta(days=1)).isoformat()
    assert eff["computed"]["rows_written"] > 0 and eff["city"]["received"] > 0
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT dept_code, sum(received), sum(completed), sum(overdue_open), sum(evaluations) "
            "FROM shared.service_efficiency WHERE stat_date = %s GROUP BY dept_code ORDER BY dept_code",
            (eff["date"],),
        ).fetchall()
    keys = ("received", "completed", "overdue_open", "evaluations")
    assert [(d["dept_code"], *(d[k] for k in keys)) for d in eff["departments"]] == [
        (code, *map(int, sums)) for code, *sums in rows
    ]
    assert [eff["city"][k] for k in keys] == [sum(int(r[i + 1]) for r in rows) for i in range(len(keys))]


def test_findings_section_is_the_open_findings(demo: tuple) -> None:
    report, _, _, url = demo
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT source, rule, count(*) FROM quality.finding WHERE status = 'open' GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    assert [(r["source"], r["rule"], r["open"]) for r in report["findings"]["by_rule"]] == rows
    assert report["findings"]["open"] == sum(r[2] for r in rows) > 0


def test_access_section_is_a_masked_read_a_verification_and_an_intact_audit(demo: tuple) -> None:
    report, stdout_json, url = demo[0], json.dumps(demo[0], ensure_ascii=False), demo[3]
    from hub.access.catalogue import resolve
    from hub.access.masking import mask
    from hub.store.page_order import DIGEST_COLUMN
    from schemas.model import PersonalClass

    acc = report["access"]
    read = acc["read"]
    assert read["masked"] == ["id_number", "name"]
    assert resolve("shared.population").key == ("id_number",)  # masked for the department: paged by its digest
    with psycopg.connect(url) as conn:
        clear = conn.execute(
            f"SELECT id_number, name, region_code, status FROM shared.population WHERE region_code = %s "
            f"ORDER BY {DIGEST_COLUMN} LIMIT %s",
            (read["filters"][0]["value"], len(read["rows"])),
        ).fetchall()
        ids = [r[0] for r in conn.execute("SELECT id_number FROM shared.population")]
        audit_rows = conn.execute("SELECT count(*) FROM access.audit").fetchone()[0]
        reads = dict(
            conn.execute(
                "SELECT outcome, count(*) FROM access.audit WHERE dept_code = %s AND action = 'query' GROUP BY 1",
                (acc["department"]["code"],),
            ).fetchall()
        )
    assert len(clear) == len(read["rows"]) == 3
    for row, (id_number, name, region, status) in zip(read["rows"], clear, strict=True):
        assert row == {
            "id_number": mask(PersonalClass.IDENTIFIER, id_number),
            "name": mask(PersonalClass.NAME, name),
            "region_code": region,
            "status": status,
        }
        assert "*" in row["id_number"] and row["id_number"] != id_number
    assert not [i for i in ids if i and i in stdout_json], "a clear identity number is in the demo's JSON"
    assert acc["refused"]["status"] == 403 and "phone" in acc["refused"]["reason"]
    assert {v["person_status"]: v["match"] for v in acc["verify_person"]} == {"NORMAL": True, "DECEASED": False}
    assert acc["audit"] == {"entries": audit_rows, "ok": True, "problems": []}
    assert reads == {"allowed": 1, "refused": 1}


def test_demo_refuses_while_a_stack_runs_on_its_home(tmp_path: Path) -> None:
    from hub.ops import procs

    home = tmp_path / "home"
    sleeper = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        procs.adopt("airflow-scheduler", sleeper.pid, home / "run")
        out = _devkit(_env(home), "demo", "--json", timeout=120)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "airflow-scheduler" in lines[0] and "hub down" in lines[0], out.stderr
    from hub.store.embedded import pgdata_dir

    assert not pgdata_dir(home).exists()  # the store was not even started, let alone reset
