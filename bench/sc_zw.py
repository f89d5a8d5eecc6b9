"""Benchmark of the 市场监管 and 政务服务 sources: full load and one day's changes, end to end.

Usage: ``python -m bench.sc_zw --scale 300000`` (a city of that many persons; 300,000 is 1/10 of
银川). It starts its own embedded PostgreSQL under ``bench/.work`` (or ``$HUB_HOME``), provisions
both simulators for the city, runs ``run_ingest`` for the full load and again after one day of
changes, and writes ``bench/results/sc_zw-<scale>.json``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench.measure import run_main, start_store

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=640100)
    parser.add_argument("--history-days", type=int, default=365, help="days of cases in the 政务服务 full load")
    args = parser.parse_args()
    from bench.measure import isolate

    isolate()

    from bench.measure import measure, write_report
    from hub import registry
    from hub.pipeline import run_ingest
    from hub.store.migrate import migrate
    from simulators.city import CityPlan, entities, persons
    from simulators.database import connection_env, reset_database
    from simulators.sc import entities as sc
    from simulators.zw import cases

    plan = CityPlan(args.scale, args.seed)
    admin = start_store()
    store = reset_database(admin, "bench_store")
    migrate(store)
    results = []

    with measure("generate city (persons + entities)", plan.volume("market_entities")) as m:
        registry_table = entities(plan)
    results.append(m)

    sc_uri = reset_database(admin, "bench_sim_sc")
    os.environ.update(connection_env("sc_market_entities", admin, "bench_sim_sc"))
    with measure("sc: generate source T_SCZT_DJXX", registry_table.num_rows) as m:
        sc.create(sc_uri, registry_table)
    results.append(m)
    spec = registry.get("sc_market_entities")
    with measure("sc: full load (run_ingest)", registry_table.num_rows) as m:
        m.extra = run_ingest(spec, "bench-1", store=store).counts()
    results.append(m)
    change = sc.apply_day(sc_uri, 1, args.seed, persons(plan.persons, plan.seed))
    with measure("sc: one day of changes (run_ingest)", change.total) as m:
        m.extra = run_ingest(spec, "bench-2", store=store).counts()
    results.append(m)

    zw_uri = reset_database(admin, "bench_sim_zw")
    os.environ.update(connection_env("zw_cases", admin, "bench_sim_zw"))
    with measure("zw: generate source T_BJ_GCXX") as m:
        _, steps = cases.create(zw_uri, plan, history_days=args.history_days)
    m.rows = steps
    results.append(m)
    spec = registry.get("zw_cases")
    with measure("zw: full load, steps + derived cases (run_ingest)", steps) as m:
        m.extra = run_ingest(spec, "bench-1", store=store).counts()
    results.append(m)
    day = cases.apply_day(zw_uri, plan, 1, history_days=args.history_days)
    with measure("zw: one day of steps + derived cases (run_ingest)", day.steps) as m:
        m.extra = run_ingest(spec, "bench-2", store=store).counts()
    results.append(m)

    write_report("sc_zw", args.scale, results, RESULTS / f"sc_zw-{args.scale}.json", history_days=args.history_days)


if __name__ == "__main__":
    run_main(main)
