"""Timing and peak-memory measurement for the benchmarks."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.machine import speed
from hub.cli_output import echo, reserved_stdout

WORK = Path(__file__).parent / ".work"
_server: psutil.Process | None = None


def watch_server(pid: int) -> None:
    """Count the CPU time of the PostgreSQL server ``pid`` (postmaster and every backend) in each measurement.

    The client's CPU seconds miss what the server does (COPY, index builds, the merge's join); on a
    loaded machine the server's CPU seconds are the honest measure of that side.
    """
    global _server
    _server = psutil.Process(pid)


def start_store() -> str:
    """Start (or find) the benchmark's embedded server, watch its CPU (:func:`watch_server`); return the admin URI."""
    from hub.store import embedded

    admin = embedded.start()
    watch_server(embedded.status().pid)  # type: ignore[arg-type]
    return admin


def server_cpu_seconds() -> float:
    """CPU seconds used so far by the watched server and its backends (ended ones included), 0 when none is watched.

    An ended backend's time moves into the postmaster's ``children_*`` once it is reaped; the read is
    repeated until no backend ended (or lingered unreaped) during it, so none is missed or counted twice.
    """
    if _server is None:
        return 0.0
    for _ in range(200):
        before = _server.cpu_times()
        live, settled = 0.0, True
        for child in _server.children():
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    settled = False  # ended, not yet reaped: its time is in neither place
                    break
                used = child.cpu_times()
            except psutil.NoSuchProcess:
                settled = False
                break
            live += used.user + used.system
        after = _server.cpu_times()
        if settled and (after.children_user, after.children_system) == (before.children_user, before.children_system):
            return after.user + after.system + after.children_user + after.children_system + live
        time.sleep(0.005)
    raise RuntimeError("the server's CPU time could not be read: its backends keep ending")


def run_main(main: Callable[[], object]) -> None:
    """Run a benchmark's ``main`` with stdout kept for its report (pipeline, Airflow and GX logs go to stderr)."""
    with reserved_stdout():
        main()


def isolate() -> None:
    """Run on the benchmark's own embedded server, whatever the shell has configured.

    ``$HUB_HOME`` defaults to ``bench/.work`` and the shell's ``AIRFLOW_CONN_*`` connections are
    dropped, so nothing measured touches a configured store.
    """
    os.environ.setdefault("HUB_HOME", str(WORK))
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_")]:
        del os.environ[key]


@dataclass
class Measurement:
    """One measured stage."""

    name: str
    rows: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_seconds: float = 0.0
    """This process's CPU time (user + system) in the stage: on a loaded machine, wall time minus waiting."""
    server_cpu_seconds: float = 0.0
    """The PostgreSQL server's CPU time in the stage (see :func:`watch_server`), all backends together."""
    extra: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "server_cpu_seconds": round(self.server_cpu_seconds, 3),
            **self.extra,
        }


@contextmanager
def measure(name: str, rows: int = 0) -> Iterator[Measurement]:
    """Time the block and sample this process's RSS every 5 ms for its peak."""
    m = Measurement(name, rows)
    proc = psutil.Process()
    peak = proc.memory_info().rss
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, proc.memory_info().rss)
            stop.wait(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start, cpu, server = time.perf_counter(), proc.cpu_times(), server_cpu_seconds()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - start
        used = proc.cpu_times()
        m.cpu_seconds = (used.user - cpu.user) + (used.system - cpu.system)
        m.server_cpu_seconds = server_cpu_seconds() - server
        stop.set()
        thread.join()
        m.peak_rss_mb = peak / 2**20


def write_report(benchmark: str, scale: int, results: list[Measurement], out: Path, **extra: object) -> dict:
    """Write the results as JSON to ``out``, print them as a table, and return the report."""
    report = {
        "benchmark": benchmark,
        "scale": scale,
        **extra,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "speed": speed(),
        },
        "results": [r.to_json() for r in results],
    }
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    width = max(len(r.name) for r in results)
    for r in results:
        echo(
            f"{r.name:<{width}}  {r.rows:>10,} rows  {r.seconds:8.2f} s  {r.rows_per_second:>12,.0f} rows/s  "
            f"cpu {r.cpu_seconds:7.2f} s + server {r.server_cpu_seconds:7.2f} s  peak {r.peak_rss_mb:8.1f} MB"
        )
    echo(f"written {out}")
    return report
