"""Benchmark of the 人社 social-insurance source: the REST connector's full read and ``run_ingest``.

Usage: ``python -m bench.rs_social_insurance --persons 300000`` (a 1/10 city: 450,000 enrolments).
It starts its own embedded PostgreSQL under ``bench/.work`` (or ``$HUB_HOME``), provisions the
simulator there, serves it as a separate process on 127.0.0.1 (so server and client do not share
one interpreter), measures a full read through :class:`connectors.rest_paged.RestPagedSource`,
a full ``run_ingest``, a day of changes and its incremental ``run_ingest``, and writes
``bench/results/rs_social_insurance-<persons>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
from pathlib import Path

from bench.measure import run_main, start_store
from hub.cli_output import echo

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    """Run the benchmark and print and save its results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=640100)
    args = parser.parse_args()
    from bench.measure import isolate

    isolate()

    import requests

    from bench.measure import measure
    from connectors.connections import get_connection, postgres_connection_json
    from connectors.rest_paged import build
    from hub import registry
    from hub.pipeline import run_ingest
    from hub.settings import hub_home
    from hub.store import embedded
    from hub.store.migrate import migrate
    from simulators.city import CityPlan
    from simulators.database import reset_database
    from simulators.rs import provision

    plan = CityPlan(args.persons, args.seed)
    rows = plan.volume("social_insurance")
    admin = start_store()
    home = hub_home() / "bench-rs"
    results = []
    with measure("generate + load simulator data", rows) as m:
        env = provision.provision(plan, admin, home)
    results.append(m)
    os.environ.update(env)
    store = reset_database(admin, "bench_store_rs")
    migrate(store)
    os.environ["AIRFLOW_CONN_HUB_STORE"] = postgres_connection_json(embedded.socket_dir_of(admin), "bench_store_rs")
    process = provision.start(home, home / "server.log")
    try:
        spec = registry.get("rs_social_insurance")
        options = spec.connector.options(spec.load_mapping().source_columns)
        source = build(spec.name, get_connection(spec.conn_id), options)
        with measure("extract: RestPagedSource full read (page_size 1000)", rows) as m:
            read = sum(b.data.num_rows for b in source.read(None))
        m.extra["rows_read"] = read
        results.append(m)
        with measure("run_ingest full load (extract, map, validate, load)", rows) as m:
            entry = run_ingest(spec, "bench_full")
        m.extra["ledger"] = entry.counts()
        results.append(m)
        base = f"http://127.0.0.1:{json.loads(env[provision.CONN_ENV])['port']}"
        change = requests.post(base + "/admin/day", json={"day": 1}, timeout=600).json()
        with measure("run_ingest one day of changes", change["total"]) as m:
            entry = run_ingest(spec, "bench_day1")
        m.extra["ledger"] = entry.counts()
        results.append(m)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    report = {
        "source": "rs_social_insurance",
        "persons": args.persons,
        "enrolments": rows,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs)",
        "stages": [r.to_json() for r in results],
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"rs_social_insurance-{args.persons}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    echo(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    run_main(main)
