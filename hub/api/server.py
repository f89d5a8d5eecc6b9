"""Serving the API with uvicorn: in the foreground (``hub api serve``) or in a thread (tests, bench)."""

from __future__ import annotations

import socket
import threading
import time
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


def serve(uri: str, host: str = "127.0.0.1", port: int = 8640) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.Server(config(uri, host, port)).run()


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
