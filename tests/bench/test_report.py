"""The README's benchmark tables are computed from the result files, ratios included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report


def _write(results: Path, name: str, doc: dict) -> None:
    (results / name).write_text(json.dumps(doc))


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    for scale, persons, extract, load in (("0.1", 300_000, 900_000, 200_000), ("1", 3_000_000, 810_000, 150_000)):
        _write(
            tmp_path,
            f"suite-{scale}.json",
            {"benchmarks": {"population": {"command": f"bench.population --scale {persons}", "exit": 0}}},
        )
        _write(
            tmp_path,
            f"population-{persons}.json",
            {
                "results": [
                    {
                        "name": "extract: ShareHub SqlTableSource (ADBC, keyset order)",
                        "rows": persons,
                        "rows_per_second": extract,
                    },
                    {
                        "name": "extract: ceiling, ADBC SELECT * into Arrow",
                        "rows": persons,
                        "rows_per_second": 1_620_000,
                    },
                    {"name": "peer extract: pandas.read_sql", "rows": persons, "rows_per_second": 270_000},
                    {
                        "name": "load: COPY into the empty keyed table (key rebuilt) + commit",
                        "rows": persons,
                        "rows_per_second": load,
                    },
                    {"name": "peer load: dlt merge (insert_values)", "rows": persons, "rows_per_second": 30_000},
                ]
            },
        )
    return tmp_path


def test_peer_table_gives_ratios_to_peers_and_ceiling(results: Path) -> None:
    lines = report.peer_table("1.0")
    extract = next(line for line in lines if "extract: ShareHub" in line)
    assert extract.endswith("| 3,000,000 | 810,000 | pandas.read_sql 270,000 | 3.00 | 1,620,000 | 0.50 |")
    dlt = next(line for line in lines if "dlt merge (insert_values)" in line)
    assert "| 150,000 | dlt merge (insert_values) 30,000 | 5.00 |" in dlt


def test_scaling_table_compares_each_stage_across_scales(results: Path) -> None:
    lines = report.scaling_table(["0.1", "1.0"])
    extract = next(line for line in lines if "ShareHub SqlTableSource" in line)
    assert extract.endswith("| 300,000 rows: 900,000/s | 3,000,000 rows: 810,000/s | 0.90 |")  # no peak recorded


def test_push_is_compared_with_the_platform_quota(results: Path) -> None:
    suite = json.loads((results / "suite-1.json").read_text())
    suite["benchmarks"]["push"] = {"command": "bench.push --cases 200000", "exit": 0}
    _write(results, "suite-1.json", suite)
    _write(
        results,
        "push-200000.json",
        {
            "results": [
                {"name": "push cases, 20 requests/s quota", "rows": 200_000, "rows_per_second": 9_500},
                {
                    "name": "peer: one POST per record (sequential), 20 requests/s quota",
                    "rows": 100,
                    "rows_per_second": 19,
                },
            ]
        },
    )
    push = next(line for line in report.peer_table("1.0") if line.startswith("| push"))
    assert push.endswith(
        "| 9,500 | one POST per record (sequential), 20 requests/s quota 19 | 500.00 | 10,000 | 0.95 |"
    )
