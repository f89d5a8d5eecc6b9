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


def _add_stages(results: Path, scale: str, persons: int, stages: list[dict]) -> None:
    path = results / f"population-{persons}.json"
    doc = json.loads(path.read_text())
    doc["results"].extend(stages)
    _write(results, path.name, doc)


def test_the_best_peer_leads_and_the_slower_defaults_follow(results: Path) -> None:
    _add_stages(
        results,
        "1",
        3_000_000,
        [
            {"name": "peer extract: pandas.read_sql (ADBC connection)", "rows": 3_000_000, "rows_per_second": 600_000},
            {
                "name": "peer extract: pandas.read_sql (default: SQLAlchemy engine)",
                "rows": 3_000_000,
                "rows_per_second": 150_000,
            },
        ],
    )
    lines = report.peer_table("1.0")
    at = next(i for i, line in enumerate(lines) if "extract: ShareHub" in line)
    assert lines[at].endswith("| 810,000 | pandas.read_sql (ADBC connection) 600,000 | 1.35 | 1,620,000 | 0.50 |")
    assert "pandas.read_sql 270,000 | 3.00 |" in lines[at + 1]  # an older result's label, still shown
    assert "pandas.read_sql (default: SQLAlchemy engine) 150,000 | 5.40 |" in lines[at + 2]  # fastest first


def test_the_end_to_end_ceiling_is_extraction_then_copy_in_series(results: Path) -> None:
    _add_stages(
        results,
        "1",
        3_000_000,
        [
            {
                "name": "load: ceiling, ADBC COPY into a bare unindexed table",
                "rows": 3_000_000,
                "rows_per_second": 540_000,
            },
            {"name": "end to end: initial load (run_ingest)", "rows": 3_000_000, "rows_per_second": 250_000},
        ],
    )
    line = next(line for line in report.peer_table("1.0") if "end to end: initial load" in line)
    # 1 / (1/1,620,000 + 1/540,000) = 405,000 rows a second
    assert line.endswith("| 405,000 | 0.62 |")


def test_quality_is_timed_as_a_share_of_the_initial_load(results: Path) -> None:
    _add_stages(
        results,
        "1",
        3_000_000,
        [
            {
                "name": "end to end: initial load (run_ingest)",
                "rows": 3_000_000,
                "rows_per_second": 300_000,
                "seconds": 10.0,
            },
            {
                "name": "quality_check after one day of changes (findings + GX on the batch's rows)",
                "rows": 435,
                "rows_per_second": 100,
                "seconds": 4.4,
            },
            {"name": report.GX_IMPORT, "rows": 0, "rows_per_second": 0, "seconds": 3.0},
        ],
    )
    lines = report.quality_table("1.0")
    assert lines[2] == f"| {report.GX_IMPORT} | — | 3.00 | 30% |"  # the fixed cost first, on its own row
    assert "| quality_check after one day of changes (findings + GX on the batch's rows) | 435 | 4.40 | 44% |" in lines
    assert lines[-1] == "| end to end: initial load (run_ingest) | 3,000,000 | 10.00 | 100% |"


def test_readme_blocks_are_rewritten_in_place(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench:peers -->\nold\ntable\n<!-- /bench:peers -->\noutro\n", encoding="utf-8")
    report.rewrite_readme(readme, {"peers": ["| a |", "| b |"]})
    assert (
        readme.read_text(encoding="utf-8")
        == "intro\n<!-- bench:peers -->\n| a |\n| b |\n<!-- /bench:peers -->\noutro\n"
    )
    with pytest.raises(ValueError, match="bench:scaling"):
        report.rewrite_readme(readme, {"scaling": ["| c |"]})


def test_certificates_are_compared_with_the_signing_ceiling_and_their_push_with_the_quota(results: Path) -> None:
    suite = json.loads((results / "suite-1.json").read_text())
    suite["benchmarks"]["certificates"] = {"command": "bench.certificates --certificates 190000", "exit": 0}
    suite["benchmarks"]["push"] = {"command": "bench.push --cases 200000", "results": ["push-200000.json"]}
    _write(results, "suite-1.json", suite)
    derive = "derive certificates end to end (read, sign on every core, certificate + outbox rows)"
    _write(
        results,
        "certificates-190000.json",
        {
            "results": [
                {"name": derive, "rows": 190_000, "rows_per_second": 3_000},
                {"name": report.SIGN_CEILING, "rows": 6_000, "rows_per_second": 5_000},
                {"name": "gmssl SM2 sign (pure Python, the old path)", "rows": 60, "rows_per_second": 100},
            ]
        },
    )
    push = "push certificates (platform verifies every SM2 signature), 20 requests/s quota"
    _write(results, "push-200000.json", {"results": [{"name": push, "rows": 200_000, "rows_per_second": 9_000}]})
    lines = report.peer_table("1.0")
    assert next(line for line in lines if derive in line).endswith(
        "| 190,000 | 3,000 | gmssl SM2 sign (pure Python, the old path) 100 | 30.00 | 5,000 | 0.60 |"
    )
    assert next(line for line in lines if push in line).endswith("| 200,000 | 9,000 |  |  | 10,000 | 0.90 |")


def test_machine_table_gives_each_suites_date_and_the_range_of_its_speed_readings(results: Path) -> None:
    suite = json.loads((results / "suite-1.json").read_text())
    suite["date"] = "2026-11-30T01:00:00+00:00"
    suite["machine_speed"] = {
        "before": {"python_loop_mops": 14.0, "sha256_mb_s": 1300},
        "after": {"python_loop_mops": 15.5, "sha256_mb_s": 1300},
    }
    _write(results, "suite-1.json", suite)
    doc = json.loads((results / "population-3000000.json").read_text())
    doc["machine"] = {"cpus": 2, "speed": {"python_loop_mops": 9.25, "sha256_mb_s": 1350}}
    _write(results, "population-3000000.json", doc)
    lines = report.machine_table(["0.1", "1.0"])
    assert lines[2] == "| SCALE=0.1 |  |  |  | 1,620,000 (300,000 rows) |"  # no readings recorded: blank, not invented
    assert lines[3] == "| SCALE=1.0 | 2026-11-30 | 9.25–15.5 | 1,300–1,350 | 1,620,000 (3,000,000 rows) |"


def test_speed_reports_both_references_as_positive_rates() -> None:
    from bench.machine import speed

    measured = speed()
    assert set(measured) == {"python_loop_mops", "sha256_mb_s"}
    assert measured["python_loop_mops"] > 0 and measured["sha256_mb_s"] > 0
