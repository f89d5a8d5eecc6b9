"""Benchmark of the 医保 file drop: reading GBK CSV through the connector, and run_ingest end to end.

Usage: ``python -m bench.yb_medical_insurance --scale 300000`` (persons; enrolments follow the city
ratio, 2.8 M at the full 3 M). It starts its own embedded PostgreSQL under ``bench/.work`` (or
``$HUB_HOME``), writes the inbox there, and writes ``bench/results/yb_medical_insurance-<scale>.json``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench.measure import run_main, start_store

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=300_000, help="persons in the city")
    parser.add_argument("--seed", type=int, default=640100)
    args = parser.parse_args()
    from bench.measure import isolate

    isolate()

    import shutil

    import pyarrow as pa

    from bench.measure import measure, write_report
    from connectors.file_drop import FileDropSource
    from hub import registry
    from hub.pipeline import run_ingest
    from hub.settings import hub_home
    from hub.store.migrate import migrate
    from schemas.mappings.yb_medical_insurance import HEADER
    from simulators.city import CityPlan
    from simulators.database import reset_database
    from simulators.yb import enrolments
    from simulators.yb.provision import deliver_day, inbox_of, provision

    plan = CityPlan(args.scale, args.seed)
    admin = start_store()
    home = hub_home() / "bench_yb"
    shutil.rmtree(home, ignore_errors=True)
    results = []

    with measure("generate: full file (GBK CSV + .ok)", plan.volume("medical_insurance")) as m:
        os.environ.update(provision(plan, admin, home))
    results.append(m)
    inbox = inbox_of(home)
    full = inbox / enrolments.file_name(0)
    size_mb = full.stat().st_size / 2**20

    source = FileDropSource("bench", inbox, pattern="YB_CBXX_*.csv", columns=HEADER)
    arrow_peak = 0
    baseline = pa.total_allocated_bytes()
    with measure("extract: FileDropSource (hash + GBK transcode + CSV parse, streamed)") as m:
        for batch in source.read(None):
            m.rows += batch.data.num_rows
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes() - baseline)
    m.extra = {"file_mb": round(size_mb, 1), "arrow_peak_mb": round(arrow_peak / 2**20, 1)}
    results.append(m)

    store_uri = reset_database(admin, "bench_store")
    migrate(store_uri)
    spec = registry.get("yb_medical_insurance")
    with measure("end to end: full file (run_ingest)") as m:
        entry = run_ingest(spec, "bench-1", store=store_uri)
    m.rows = entry.extracted
    m.extra = entry.counts()
    results.append(m)
    delivered = deliver_day(inbox, 1, plan, redeliver_previous=True)
    with measure("end to end: one day of changes + a re-delivered full file (run_ingest)") as m:
        entry = run_ingest(spec, "bench-2", store=store_uri)
    m.rows = entry.extracted
    m.extra = {**entry.counts(), "delivered": delivered["rows"]}
    results.append(m)

    write_report("yb_medical_insurance", args.scale, results, RESULTS / f"yb_medical_insurance-{args.scale}.json")


if __name__ == "__main__":
    run_main(main)
