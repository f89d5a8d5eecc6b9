"""A light HTTP/1.1 load generator for the API bench: keep-alive connections, several client processes.

httpx costs about a millisecond of CPU per request; at 1,000 requests/s on a 2-core machine the
client would take a core from the server it measures. This client writes a prepared request and
reads the response by its ``Content-Length`` over asyncio streams (uvloop when installed), one
connection per concurrent caller, spread over ``processes`` spawned processes. Each process
reports its own CPU seconds, so the report shows what the load generator itself cost.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Scenario:
    """What one caller sends: ``path`` with ``bodies`` in turn, or pages following ``next_cursor``.

    Attributes:
        path: Request path.
        headers: Extra request headers (API key, purpose).
        bodies: JSON bodies sent in turn (a verification workload).
        page: When set, one body whose ``after`` is the previous response's ``next_cursor``.
    """

    path: str
    headers: dict[str, str]
    bodies: list[dict] = field(default_factory=list)
    page: dict | None = None


@dataclass
class Share:
    """One client process's part of a run."""

    url: str
    scenario: Scenario
    requests: int
    connections: int
    offset: int
    start_at: float


def _request(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise RuntimeError("the server answered without Content-Length; this client reads only sized bodies")
    return status, await reader.readexactly(length)


async def _run_share(share: Share) -> dict:
    parts = urlsplit(share.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    sc = share.scenario
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(share.requests))

    async def caller(n: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        after: str | None = None
        try:
            for i in counter:
                if sc.page is not None:
                    body = sc.page | ({"after": after} if after else {})
                else:
                    body = sc.bodies[(share.offset + i) % len(sc.bodies)]
                t0 = time.perf_counter()
                writer.write(_request(host, sc.path, sc.headers, json.dumps(body).encode()))
                status, payload = await _response(reader)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if sc.page is not None:
                    after = json.loads(payload).get("next_cursor") if status == 200 else None
        finally:
            writer.close()

    await asyncio.sleep(max(0.0, share.start_at - time.time()))  # every process starts together
    start = time.time()
    cpu0 = time.process_time()
    await asyncio.gather(*(caller(n) for n in range(share.connections)))
    return {
        "latencies": latencies,
        "statuses": statuses,
        "start": start,
        "end": time.time(),
        "cpu_seconds": time.process_time() - cpu0,
    }


def _share_main(share: Share) -> dict:
    try:
        import uvloop

        return uvloop.run(_run_share(share))
    except ImportError:
        return asyncio.run(_run_share(share))


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def drive(url: str, scenario: Scenario, requests: int, concurrency: int, processes: int = 2) -> dict:
    """Send ``requests`` requests over ``concurrency`` keep-alive connections from ``processes`` processes.

    Returns:
        Requests/s, p50/p99 latency, statuses, and the load generator's CPU milliseconds per request.
    """
    processes = max(1, min(processes, concurrency))
    shares = []
    start_at = time.time() + 3.0  # after the spawned interpreters have imported
    for p in range(processes):
        n = requests // processes + (1 if p < requests % processes else 0)
        c = concurrency // processes + (1 if p < concurrency % processes else 0)
        shares.append(Share(url, scenario, n, c, offset=p * 7919, start_at=start_at))
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_share_main, shares)
    latencies = [x for part in parts for x in part["latencies"]]
    statuses: dict[int, int] = {}
    for part in parts:
        for k, v in part["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    elapsed = max(p["end"] for p in parts) - min(p["start"] for p in parts)
    client_cpu = sum(p["cpu_seconds"] for p in parts)
    return {
        "requests": requests,
        "concurrency": concurrency,
        "client_processes": processes,
        "errors": requests - statuses.get(200, 0),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 3),
        "requests_per_second": round(requests / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / requests, 3),
    }
