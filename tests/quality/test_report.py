"""The quality report from the ledger and the quarantine, on the CLI and as JSON."""

from __future__ import annotations

import datetime as dt
import json

from hub import registry
from hub.cli import main
from hub.pipeline import run_ingest
from quality import report
from simulators.ga import population

SPEC = registry.get("ga_population")
TODAY = dt.date(2026, 11, 23)


def test_report_counts_by_source_rule_and_field_with_trend(store: str, ga_source, capsys) -> None:
    uri, _ = ga_source
    first = run_ingest(SPEC, "run-1", store=store, today=TODAY)
    population.apply_day(uri, 1, seed=7)
    second = run_ingest(SPEC, "run-2", store=store, today=TODAY)

    data = report.build(store)
    assert [r["batch_id"] for r in data["runs"]] == [second.batch_id, first.batch_id]
    assert data["runs"][1]["quarantine_rate"] == round(first.quarantined / first.extracted, 6)
    by_rule = {(q["source"], q["rule"], q["field"]): q["total"] for q in data["by_rule"]}
    assert sum(by_rule.values()) == first.quarantined + second.quarantined
    assert ("ga_population", "id_number.checksum", "id_number") in by_rule
    assert [p["batch_id"] for p in data["trend"]["ga_population"]] == [first.batch_id, second.batch_id]
    per_run = {(f["rule"], f["field"]): f["count"] for f in data["runs"][1]["quarantine_by_field"]}
    assert sum(per_run.values()) == first.quarantined
    assert per_run[("id_number.checksum", "id_number")] == first.rule_counts["id_number.checksum"]
    assert sum(d["n"] for d in data["daily_by_rule"]) == first.quarantined + second.quarantined
    (day,) = data["daily"]
    assert day["runs"] == 2 and day["extracted"] == first.extracted + second.extracted

    capsys.readouterr()  # the runs' log lines
    assert main(["quality", "report", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["by_rule"] == json.loads(json.dumps(data["by_rule"]))
    assert main(["quality", "report"]) == 0
    out = capsys.readouterr().out
    assert "id_number.checksum [id_number]" in out and "ga_population:" in out
