"""Starting and stopping processes by pid file, process group and process tree.

A pid file ``$HUB_HOME/run/<name>.pid`` holds the pid of a process started in its own session
(so its pid is also its process group) and, on its second line, the process's start time. A
pid is only ever signalled while a process with that start time holds it, so a recycled pid is
never touched (the environment cannot tell: Airflow's ``setproctitle`` overwrites it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil


class StackError(RuntimeError):
    """The stack cannot be brought up or down as asked."""


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def spawn(name: str, argv: list[str], env: dict[str, str], run_dir: Path, log_dir: Path, cwd: Path) -> int:
    """Start ``argv`` in a new session, output to ``<log_dir>/<name>.log``; write its pid file.

    Returns:
        The pid.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    adopt(name, proc.pid, run_dir)
    return proc.pid


def adopt(name: str, pid: int, run_dir: Path) -> None:
    """Write the pid file of a process started elsewhere (in its own session), so :func:`stop` can stop it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / f"{name}.pid").write_text(f"{pid}\n{psutil.Process(pid).create_time()}\n")


def read_pid_file(pid_file: Path) -> psutil.Process | None:
    """The live process a pid file names (same pid, same start time), else ``None``."""
    try:
        pid_text, started = pid_file.read_text().split()[:2]
        proc = psutil.Process(int(pid_text))
        if proc.status() == psutil.STATUS_ZOMBIE or abs(proc.create_time() - float(started)) > 0.05:
            return None
        return proc
    except (OSError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def running(run_dir: Path) -> dict[str, int]:
    """Names and pids of the processes whose pid file in ``run_dir`` points at a live process."""
    alive = {}
    for pid_file in sorted(run_dir.glob("*.pid")):
        proc = read_pid_file(pid_file)
        if proc is not None:
            alive[pid_file.stem] = proc.pid
    return alive


def stop(name: str, run_dir: Path, grace: float = 20.0) -> bool:
    """Stop the process of ``<run_dir>/<name>.pid`` with its group and descendants; remove the pid file.

    SIGTERM first, SIGKILL for whatever is left after ``grace`` seconds.

    Returns:
        Whether a live process was stopped.
    """
    pid_file = run_dir / f"{name}.pid"
    root = read_pid_file(pid_file)
    if root is None:
        pid_file.unlink(missing_ok=True)
        return False
    tree = [root, *_children(root)]
    _signal_all(root.pid, tree, signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=grace)
    if alive:
        tree = [p for p in [*alive, *(c for p in alive for c in _children(p))] if p.is_running()]
        _signal_all(root.pid, tree, signal.SIGKILL)
        psutil.wait_procs(tree, timeout=5)
    pid_file.unlink(missing_ok=True)
    return True


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _signal_all(pgid: int, procs: list[psutil.Process], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)


def wait_until(predicate: object, timeout: float, what: str, interval: float = 1.0) -> None:
    """Poll ``predicate()`` until it is truthy.

    Raises:
        StackError: naming ``what`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():  # type: ignore[operator]
                return
        time.sleep(interval)
    raise StackError(f"timed out after {timeout:.0f}s waiting for {what}")
