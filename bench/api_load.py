"""Load test of the departments' API on 127.0.0.1: requests/s and p50/p99 latency.

Usage: ``python -m bench.api_load --scale 20000 --requests 2000 --concurrency 16``.
It loads a generated 公安 population (real ingest) into a ``bench_access`` database on the
embedded server under ``bench/.work`` (or ``$HUB_HOME``), registers a department, serves the API
with uvicorn in a subprocess (``hub api serve``) on a free port, and drives it with a bounded
asyncio + httpx load generator: a verification call (``POST /v1/verify/person``) and a paged
query (``POST /v1/resources/640100-GA-0001/query``, ``--limit`` rows a page (500), following cursors).
Results go to ``bench/results/api-load-<scale>.json``. Every request is audited as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
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
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system
    return total


def _measured(run, pids: list[int], requests: int) -> dict:
    """``run()``'s result plus the CPU milliseconds per request spent by ``pids`` (less sensitive to load)."""
    before = [_cpu_seconds([pid]) for pid in pids]
    result = run()
    after = [_cpu_seconds([pid]) for pid in pids]
    server, store = ((a - b) * 1000 / requests for a, b in zip(after, before, strict=True))
    return result | {"server_cpu_ms_per_request": round(server, 2), "store_cpu_ms_per_request": round(store, 2)}


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _drive(url: str, key: str, bodies: list[dict], path_of, requests: int, concurrency: int) -> dict:
    import httpx

    headers = {"X-API-Key": key, "X-Purpose": quote("压力测试")}
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            state: dict = {}
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                body = path_of(bodies[i % len(bodies)], state)
                t0 = time.perf_counter()
                r = await client.post(body["path"], json=body["json"])
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code != 200:
                    errors += 1
                    state["after"] = None  # start over rather than repeat a refused cursor
                else:
                    state["after"] = r.json().get("next_cursor")

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "requests": requests,
        "concurrency": concurrency,
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 3),
        "requests_per_second": round(requests / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 2),
    }


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
    args = parser.parse_args()
    from bench.measure import isolate

    isolate()

    import httpx
    import psycopg

    from connectors.connections import postgres_connection_json
    from hub import registry
    from hub.access import budgets, consumers
    from hub.api.server import free_port
    from hub.pipeline import run_ingest
    from hub.store import embedded
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

    port = free_port()
    hub = str(Path(sys.executable).with_name("hub"))
    server = subprocess.Popen([hub, "api", "serve", "--port", str(port)], env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.2)

        def verify(person: dict, _: dict) -> dict:
            return {"path": "/v1/verify/person", "json": person}

        def paged(_: dict, state: dict) -> dict:
            return {
                "path": "/v1/resources/640100-GA-0001/query",
                "json": {"fields": ["id_number", "name", "gender", "region_code"], "limit": args.limit}
                | ({"after": state["after"]} if state.get("after") else {}),
            }

        persons = [{"id_number": i, "name": n} for i, n in people]
        pids = [server.pid, _postmaster_pid(admin)]
        n, c = args.requests, args.concurrency
        results = {
            "verify_person": _measured(lambda: asyncio.run(_drive(url, key, persons, verify, n, c)), pids, n),
            "paged_query": _measured(lambda: asyncio.run(_drive(url, key, [{}], paged, n, c)), pids, n),
        }
    finally:
        server.terminate()
        server.wait(timeout=20)
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
        "server": "uvicorn, 1 worker, subprocess; load generator asyncio+httpx in another process",
        "cpu": "server_cpu_ms_per_request: the API process; store_cpu_ms_per_request: the PostgreSQL backends",
        **results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"api-load-{args.scale}.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    from hub.cli_output import reserved_stdout

    with reserved_stdout() as out:  # the pipeline's and the server's logs go to stderr, the report to stdout
        print(json.dumps(main(), indent=2), file=out)
