"""Serving the API with uvicorn: in the foreground (``hub api serve``) or in a thread (tests, bench)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from hub.api.app import create_app


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


def serve(
    uri: str, host: str = "127.0.0.1", port: int = 8640, on_listening: Callable[[str], None] | None = None
) -> None:
    """Serve in the foreground until interrupted.

    Args:
        uri: The shared store.
        host: Address to listen on.
        port: Port to listen on; 0 picks a free one.
        on_listening: Called with the base URL (the real port) once the server accepts connections.
    """
    cfg = config(uri, host, port)
    (uvicorn.Server(cfg) if on_listening is None else _AnnouncingServer(cfg, on_listening)).run()


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
