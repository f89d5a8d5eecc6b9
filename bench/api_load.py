"""Load test of the departments' API on 127.0.0.1: requests/s and p50/p99 latency.

Usage: ``python -m bench.api_load --scale 20000 --requests 2000 --concurrency 16``.
It loads a generated 公安 population (real ingest) into a ``bench_access`` database on the
embedded server under ``bench/.work`` (or ``$HUB_HOME``), registers a department, serves the API
with uvicorn in a subprocess (``hub api serve --workers N``) on a free port, and drives it with
:mod:`bench.http_load` (keep-alive connections from several processes, their CPU reported):
a verification call (``POST /v1/verify/person``) and a paged
query (``POST /v1/resources/640100-GA-0001/query``, ``--limit`` rows a page (500), following cursors).
The ceiling (:mod:`bench.api_ceiling`) runs the same calls straight through psycopg in the same
run, and ``--baseline-tree`` serves an older source tree too, for a paired before/after.
Results go to ``bench/results/api-load-<scale>.json``. Every request is audited as in production.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

RESULTS = Path(__file__).parent / "results"


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and their children (the server, the store's backends)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
            t = proc.cpu_times()
            total += t.children_user + t.children_system  # children that already exited (closed backends)
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system
    return total


def _measured(run, pids: dict[str, int], requests: int) -> dict:
    """``run()``'s result plus the CPU milliseconds per request of each named process tree (less sensitive to load)."""
    before = {name: _cpu_seconds([pid]) for name, pid in pids.items()}
    result = run()
    after = {name: _cpu_seconds([pid]) for name, pid in pids.items()}
    spent = {f"{name}_cpu_ms_per_request": round((after[name] - before[name]) * 1000 / requests, 3) for name in pids}
    return result | spent


@contextmanager
def _serving(tree: str | None, workers: int) -> Iterator[tuple[str, int]]:
    """``hub api serve`` on a free port (from ``tree`` when given) until the block ends: (URL, pid)."""
    import httpx

    from hub.api.server import free_port

    port = free_port()
    env = os.environ.copy()
    if tree:
        env["PYTHONPATH"] = tree
    argv = [sys.executable, "-m", "hub.cli", "api", "serve", "--port", str(port)]
    # from the tree's directory: `python -m` puts the working directory first on sys.path
    cmd = argv + (["--workers", str(workers)] if workers > 1 else [])
    server = subprocess.Popen(cmd, env=env, cwd=tree or None)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # workers import Airflow's configuration: slow on a loaded machine
        while True:
            try:
                httpx.get(f"{url}/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.2)
        time.sleep(1.0 if workers > 1 else 0)  # every worker listening, not only the first
        yield url, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _postmaster_pid(admin_uri: str) -> int:
    import psycopg

    with psycopg.connect(admin_uri) as conn:
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]
    return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])


def main() -> dict:
    """Set up, serve, drive; returns the report (also written to ``bench/results/``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=20_000, help="persons in the generated registry")
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=640100)
    parser.add_argument("--limit", type=int, default=500, help="rows per page of the paged query")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes of the API")
    parser.add_argument("--client-processes", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--baseline-tree",
        help="also serve the API from this source tree (e.g. `git archive` of an older commit), same run, 1 worker",
    )
    args = parser.parse_args()
    from bench.measure import isolate

    isolate()

    import psycopg

    from bench import api_ceiling
    from bench.http_load import Scenario, drive
    from connectors.connections import postgres_connection_json
    from hub import registry
    from hub.access import budgets, consumers
    from hub.pipeline import run_ingest
    from hub.store import embedded
    from hub.store.connection import api_store_uri
    from hub.store.migrate import migrate
    from simulators.database import reset_database
    from simulators.ga import population

    admin = embedded.start()
    sock = embedded.socket_dir_of(admin)
    source_uri = reset_database(admin, "bench_sim_ga")
    store_uri = reset_database(admin, "bench_access")
    os.environ["AIRFLOW_CONN_GA_POPULATION"] = postgres_connection_json(sock, "bench_sim_ga")
    os.environ["AIRFLOW_CONN_HUB_STORE"] = postgres_connection_json(sock, "bench_access")
    population.create(source_uri, args.scale, args.seed)
    migrate(store_uri)
    run_ingest(registry.get("ga_population"), "bench-1", store=store_uri)
    with psycopg.connect(store_uri, autocommit=True) as conn:
        key = consumers.register(conn, "MZ", "银川市民政局").token
        # a department with a verification workload is given the budget for it (the default is 60 a minute)
        budgets.set_budget(conn, "verify", 1_000_000, 10_000_000, dept="MZ")
        people = conn.execute("SELECT id_number, name FROM shared.population ORDER BY random() LIMIT 500").fetchall()
        rows = conn.execute("SELECT count(*) FROM shared.population").fetchone()[0]

    api_uri = api_store_uri()
    purpose = "压力测试"
    persons = [{"id_number": i, "name": n} for i, n in people]
    headers = {"X-API-Key": key, "X-Purpose": quote(purpose)}
    page = {"fields": ["id_number", "name", "gender", "region_code"], "limit": args.limit}
    verify = Scenario("/v1/verify/person", headers, bodies=persons)
    paged = Scenario("/v1/resources/640100-GA-0001/query", headers, page=page)
    n, c, procs = args.requests, args.concurrency, args.client_processes
    store = {"store": _postmaster_pid(admin)}
    results: dict[str, dict] = {}
    # the ceiling first, then each server: the same store, load generator and requests in one run
    results["ceiling"] = {
        "verify_person": _measured(lambda: api_ceiling.verify_person(api_uri, key, persons, purpose, n, c), store, n),
        "paged_query": _measured(
            lambda: api_ceiling.paged_query(api_uri, key, page | {"ref": "640100-GA-0001"}, purpose, n, c),
            store,
            n,
        ),
    }
    servers = [("api", None, args.workers)] + ([("baseline", args.baseline_tree, 1)] if args.baseline_tree else [])
    for name, tree, workers in servers:
        with _serving(tree, workers) as (url, server_pid):
            results[name] = {
                "workers": workers,
                "verify_person": _measured(lambda: drive(url, verify, n, c, procs), {"server": server_pid} | store, n),
                "paged_query": _measured(lambda: drive(url, paged, n, c, procs), {"server": server_pid} | store, n),
            }
    for name in [s[0] for s in servers]:
        for scenario in ("verify_person", "paged_query"):
            api, ceiling = results[name][scenario], results["ceiling"][scenario]
            api["of_ceiling"] = round(api["requests_per_second"] / ceiling["requests_per_second"], 3)
    with psycopg.connect(store_uri) as conn:
        audited = conn.execute(
            "SELECT count(*) FROM access.audit WHERE action IN ('verify.person', 'query')"
        ).fetchone()
    report = {
        "scale_persons": args.scale,
        "rows_in_store": rows,
        "audited_reads": audited[0],
        "machine": f"{platform.machine()} {os.cpu_count()} cpu (shared with other jobs)",
        "page_rows": args.limit,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "server": "uvicorn (`hub api serve`, --workers as reported), subprocess",
        "load_generator": f"{procs} processes of asyncio HTTP/1.1 keep-alive connections (bench.http_load)",
        "ceiling": "the same library calls and SQL as the routes through psycopg, same role, one thread a connection",
        "cpu": "server_cpu_ms_per_request: the API processes; "
        "store_cpu_ms_per_request: the PostgreSQL backends; client_cpu_ms_per_request: the load generator "
        "(for the ceiling: the bench process running the calls)",
        **results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"api-load-{args.scale}.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    from hub.cli_output import reserved_stdout

    with reserved_stdout() as out:  # the pipeline's and the server's logs go to stderr, the report to stdout
        print(json.dumps(main(), indent=2), file=out)
