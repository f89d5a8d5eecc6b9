"""Serving the API with uvicorn: in the foreground (``hub api serve``) or in a thread (tests, bench).

``hub api serve --workers N`` (or ``$HUB_API_WORKERS``; default 1) runs N uvicorn worker processes
on one listening socket. A request's work is mostly Python holding one process's GIL, so on a
machine of C cores about C workers serve C times as many calls (``hub up`` and compose pass
``$HUB_API_WORKERS``). The workers must share the paging-cursor and audit-digest keys: when either
is not configured, one random key is drawn for the whole server (with a warning), not one per worker.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from hub.access import cursor_token, digest
from hub.access.keyconfig import KeyConfigError
from hub.api.app import create_app

WORKERS_ENV = "HUB_API_WORKERS"
_URI_ENV = "_HUB_API_SERVE_URI"  # handed from `hub api serve` to its worker processes only


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def config(uri: str, host: str, port: int) -> uvicorn.Config:
    """The uvicorn configuration; access logs are off (paths and addresses are not needed, audit is)."""
    return uvicorn.Config(create_app(uri), host=host, port=port, access_log=False, log_level="warning")


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that reports its URL once its socket listens."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            self._on_listening(f"http://{_url_host(host)}:{port}")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def workers_setting(value: str | None = None) -> int:
    """The number of worker processes: ``value``, else ``$HUB_API_WORKERS``, else 1.

    Raises:
        KeyConfigError: not a whole number from 1 to 64.
    """
    raw = (value if value is not None else os.environ.get(WORKERS_ENV, "")).strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise KeyConfigError(
            f"API workers must be a whole number from 1 to 64 (--workers or {WORKERS_ENV}), not {raw!r}"
        )
    return int(raw)


def worker_app() -> FastAPI:
    """The application of one worker process of :func:`serve` (a uvicorn factory)."""
    return create_app(os.environ[_URI_ENV])


def _share_keys() -> None:
    """Give every worker the same cursor and digest keys, drawing one for the server when unset."""
    for env, purpose in ((cursor_token.ENV, "paging cursors"), (digest.ENV, "audit digests of looked-up values")):
        if not os.environ.get(env, "").strip():
            print(f"warning: {env} is not set; {purpose} use a random key for this server only", file=sys.stderr)
            os.environ[env] = secrets.token_hex(32)


def serve(
    uri: str,
    host: str = "127.0.0.1",
    port: int = 8640,
    on_listening: Callable[[str], None] | None = None,
    workers: int = 1,
) -> None:
    """Serve in the foreground until interrupted.

    Args:
        uri: The shared store.
        host: Address to listen on.
        port: Port to listen on; 0 picks a free one.
        on_listening: Called with the base URL (the real port) once the server accepts connections.
        workers: Worker processes sharing the listening socket.

    Raises:
        KeyConfigError: a key is misconfigured (checked before any worker starts).
    """
    if workers <= 1:
        cfg = config(uri, host, port)
        (uvicorn.Server(cfg) if on_listening is None else _AnnouncingServer(cfg, on_listening)).run()
        return
    digest.load_key()  # the digest key may come from an Airflow connection; read it once, for every worker
    _share_keys()
    create_app(uri)  # a misconfigured key or limit stops here, once, not in every worker
    os.environ[_URI_ENV] = uri
    cfg = uvicorn.Config(
        "hub.api.server:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )
    sock = cfg.bind_socket()
    sock.listen(cfg.backlog)  # connections wait in the backlog until a worker accepts them, none is refused
    if on_listening is not None:
        bound_host, bound_port = sock.getsockname()[:2]
        on_listening(f"http://{_url_host(bound_host)}:{bound_port}")
    Multiprocess(cfg, sockets=[sock]).run()


@dataclass
class RunningServer:
    """A uvicorn server running in a background thread."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        """Ask the server to exit and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(uri: str, host: str = "127.0.0.1") -> RunningServer:
    """Start the API on a free port of ``host`` in a thread; returns once it accepts connections."""
    port = free_port(host)
    server = uvicorn.Server(config(uri, host, port))
    thread = threading.Thread(target=server.run, name="hub-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    return RunningServer(server, thread, f"http://{host}:{port}")
