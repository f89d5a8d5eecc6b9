"""``make bench SCALE=0.1``: every benchmark at a fraction of city scale, in one run.

City scale is departments.md's: 3,000,000 persons (and, in proportion, 400,000 market entities,
4,500,000 social-insurance and 2,800,000 medical-insurance enrolments, 1,500,000 cases a year).
Each benchmark runs as its own process (so peak memory is its own) and writes its JSON to
``bench/results/``; this runner writes ``bench/results/suite-<scale>.json`` listing them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.machine import speed
from simulators.city import CITY_PERSONS, RATIOS

RESULTS = Path(__file__).parent / "results"


def commands(scale: float) -> dict[str, list[str]]:
    """The benchmark commands at ``scale`` (a fraction of the city)."""
    persons = max(1000, round(CITY_PERSONS * scale))
    cases_per_day = max(100, round(CITY_PERSONS * RATIOS["cases_per_year"] * scale / 250))
    return {
        "population": ["bench.population", "--scale", str(persons)],
        "rules": ["bench.rules", "--rows", str(max(100_000, min(1_000_000, persons)))],
        "sc_zw": ["bench.sc_zw", "--scale", str(persons)],
        "rs_social_insurance": ["bench.rs_social_insurance", "--persons", str(persons)],
        "yb_medical_insurance": ["bench.yb_medical_insurance", "--scale", str(persons)],
        "certificates": ["bench.certificates", "--certificates", str(max(2_000, round(190_000 * scale)))],
        "push": [
            "bench.push",
            "--cases",
            str(max(2_000, round(20_000 * scale * 10))),
            "--certificates",
            str(max(2_000, round(200_000 * scale))),
        ],
        "efficiency": ["bench.efficiency", "--cases-per-day", str(cases_per_day)],
        "api_load": ["bench.api_load", "--scale", str(min(persons, 100_000))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of city scale (1.0 = 3,000,000 persons)")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args()
    ran = {}
    speed_before = speed()
    for name, argv in commands(args.scale).items():
        if args.only and name not in args.only:
            continue
        start, started_at = time.perf_counter(), time.time()
        code = subprocess.run([sys.executable, "-m", *argv]).returncode
        written = sorted(p.name for p in RESULTS.glob("*.json") if p.stat().st_mtime >= started_at)
        ran[name] = {
            "command": " ".join(argv),
            "exit": code,
            "seconds": round(time.perf_counter() - start, 1),
            "results": written,
        }
        print(f"== {name}: exit {code} in {ran[name]['seconds']} s", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"suite-{args.scale:g}.json"
    if args.only and out.exists():  # a partial re-run keeps the other benchmarks' entries
        ran = {**json.loads(out.read_text()).get("benchmarks", {}), **ran}
    summary = {
        "scale": args.scale,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine_speed": {"before": speed_before, "after": speed()},
        "benchmarks": ran,
    }
    out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if all(r["exit"] == 0 for r in ran.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
