"""``hub demo --json`` as a user runs it: a fresh HUB_HOME, its own embedded server, real DAG runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_json_balances_every_run(tmp_path: Path) -> None:
    hub = Path(sys.executable).parent / "hub"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["HUB_HOME"] = str(tmp_path / "home")
    try:
        out = subprocess.run(
            [str(hub), "demo", "--json", "--scale", "1500"], capture_output=True, text=True, env=env, timeout=600
        )
        assert out.returncode == 0, out.stderr[-3000:]
        report = json.loads(out.stdout)
    finally:
        subprocess.run([str(hub), "store", "stop"], env=env, capture_output=True, timeout=120)
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
    assert full["extracted"] == 1500 and full["quarantined"] > 0
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
