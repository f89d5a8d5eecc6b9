r"""The simulated provincial platform: a FastAPI app served by uvicorn on 127.0.0.1.

Run as a process::

    SIM_PROVINCE_APP_SECRET=... python -m simulators.province.server --port 0 \\
        --database-uri postgresql:///sim_province?host=/tmp/... --app-id 640100 \\
        --signer-public-key <hex> --ready-file /tmp/province.url

The app secret comes from the environment, never the command line. ``--port 0`` picks a free
port; the URL is written to ``--ready-file`` once the server listens.

Admin endpoints (simulator only, no authentication): ``POST /admin/faults`` sets faults (see
:class:`simulators.province.faults.FaultConfig`, which also shifts the platform's clock for the
day records are counted on), ``GET /admin/stats`` counts injected faults, ``GET /admin/records?kind=``
lists stored ``key:version``, ``DELETE /admin/records`` forgets one, ``GET /admin/batches`` lists
the batch ids received and how often each arrived.

Requests, signatures and records are checked with the simulator's own code
(:mod:`simulators.province.crypto`, :mod:`simulators.province.identifiers`), never the hub's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hmac
import json
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from simulators.province.crypto import Sm2Verifier, expected_signature
from simulators.province.faults import FaultConfig, FaultInjector
from simulators.province.store import KINDS, BatchIdReusedError, PlatformStore

MAX_RECORDS = 500
MAX_BYTES = 5 * 1024 * 1024
CLOCK_SKEW_MS = 300_000
NONCE_TTL_S = 600.0
SECRET_ENV = "SIM_PROVINCE_APP_SECRET"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


@dataclass
class PlatformSettings:
    """How one simulated platform is set up."""

    database_uri: str
    app_id: str
    app_secret: str
    signer_public_key: str | None = None
    signature_scheme: str = "sm2"
    faults: FaultConfig = field(default_factory=FaultConfig)


class _NonceBook:
    """Nonces seen in the last 10 minutes."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, nonce: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {n: t for n, t in self._seen.items() if now - t < NONCE_TTL_S}
            seen = self._seen.get(nonce)
            if seen is not None and now - seen < NONCE_TTL_S:
                return False
            self._seen[nonce] = now
            return True


def create_app(settings: PlatformSettings) -> Any:
    """The platform's ASGI app (wrapped so a handler can drop its connection).

    Raises:
        ValueError: for a signature scheme other than ``sm2``.
    """
    if settings.signature_scheme != "sm2":
        raise ValueError(f"the platform verifies sm2 signatures only, not {settings.signature_scheme!r}")
    verifier = Sm2Verifier(settings.signer_public_key) if settings.signer_public_key else None
    store = PlatformStore(settings.database_uri, verifier)
    faults = FaultInjector(settings.faults)
    nonces = _NonceBook()
    app = FastAPI(title="Provincial platform simulator", docs_url=None, redoc_url=None)
    app.state.store = store
    app.state.faults = faults

    def refuse(message: str) -> Any:
        return JSONResponse({"code": "AUTH_FAILED", "message": message}, status_code=401)

    def authenticate(request: Request, body: bytes) -> str | None:
        h = request.headers
        if h.get("x-app-id") != settings.app_id:
            return "unknown X-App-Id"
        try:
            ts = int(h.get("x-timestamp", ""))
        except ValueError:
            return "X-Timestamp must be Unix time in milliseconds"
        if abs(time.time() * 1000 - ts) > CLOCK_SKEW_MS:
            return "X-Timestamp is more than 300 s from the platform's clock"
        nonce = h.get("x-nonce", "")
        if not 16 <= len(nonce) <= 64:
            return "X-Nonce must be 16-64 characters"
        query = dict(request.query_params)
        expected = expected_signature(
            settings.app_secret, request.method, request.url.path, query, h["x-timestamp"], nonce, body
        )
        if not hmac.compare_digest(expected, h.get("x-signature", "")):
            return "X-Signature does not verify"
        if not nonces.claim(nonce):
            return "X-Nonce was used in the last 10 minutes (replay)"
        return None

    def injected(request: Request) -> Any | None:
        fault = faults.before(request.headers.get("x-app-id", ""))
        if fault is None:
            return None
        status, headers = fault
        return JSONResponse({"code": f"HTTP_{status}", "message": "injected fault"}, status, headers=headers)

    async def receive_batch(kind: str, request: Request) -> Any:
        early = injected(request)
        if early is not None:
            return early
        body = await request.body()
        problem = authenticate(request, body)
        if problem:
            return refuse(problem)
        if len(body) > MAX_BYTES:
            return JSONResponse({"code": "PAYLOAD_TOO_LARGE", "message": "batch over 5 MiB"}, status_code=413)
        envelope = _envelope(body)
        if isinstance(envelope, str):
            return JSONResponse({"code": "BAD_BATCH", "message": envelope}, status_code=400)
        batch_id, records = envelope
        try:
            results = await run_in_threadpool(store.apply_batch, kind, batch_id, records, faults.clock())
        except BatchIdReusedError as exc:
            return JSONResponse({"code": "BAD_BATCH", "message": str(exc)}, status_code=400)
        after = faults.after_store()
        if after == "drop":
            transport = request.scope.get("sim.transport")
            if transport is None:
                raise RuntimeError("cannot drop the connection: server transport not available")
            transport.abort()
            return Response(status_code=500)
        if after == "slow":
            await asyncio.sleep(faults.config.slow_seconds)
        return JSONResponse({"batch_id": batch_id, "results": results})

    @app.post("/api/v1/certificates/batch")
    async def certificates(request: Request) -> Any:
        return await receive_batch("certificates", request)

    @app.post("/api/v1/cases/batch")
    async def cases(request: Request) -> Any:
        return await receive_batch("cases", request)

    @app.get("/api/v1/reconciliation")
    async def reconciliation(request: Request) -> Any:
        early = injected(request)
        if early is not None:
            return early
        problem = authenticate(request, b"")
        if problem:
            return refuse(problem)
        kind, date = request.query_params.get("kind"), request.query_params.get("date", "")
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            day = None
        if kind not in KINDS or day is None:
            return JSONResponse({"code": "BAD_REQUEST", "message": "kind and date=YYYY-MM-DD required"}, 400)
        counts = await run_in_threadpool(store.reconciliation, kind, day)
        return {"kind": kind, "date": date, **counts}

    @app.post("/admin/faults")
    async def set_faults(request: Request) -> Any:
        try:
            return asdict(faults.configure(await request.json()))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"code": "BAD_FAULTS", "message": str(exc)}, status_code=400)

    @app.get("/admin/stats")
    async def stats() -> Any:
        return dict(faults.stats)

    @app.get("/admin/records")
    async def records(kind: str) -> Any:
        return [f"{k}:{v}" for k, v in await run_in_threadpool(store.holdings, kind)]

    @app.get("/admin/batches")
    async def batches() -> Any:
        return await run_in_threadpool(store.batches)

    @app.delete("/admin/records")
    async def forget(kind: str, key: str, version: int) -> Any:
        return {"deleted": await run_in_threadpool(store.forget, kind, key, version)}

    @app.on_event("shutdown")
    def _close() -> None:
        store.close()

    return _expose_transport(app)


def _envelope(body: bytes) -> tuple[str, list[dict[str, Any]]] | str:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "body is not JSON"
    if not isinstance(data, dict) or set(data) - {"batch_id", "records"}:
        return "body must be an object with batch_id and records"
    batch_id, records = data.get("batch_id"), data.get("records")
    if not isinstance(batch_id, str) or not batch_id or len(batch_id) > 128:
        return "batch_id must be a non-empty string"
    if not isinstance(records, list) or not records:
        return "records must be a non-empty list"
    if len(records) > MAX_RECORDS:
        return f"more than {MAX_RECORDS} records"
    if not all(isinstance(r, dict) for r in records):
        return "every record must be an object"
    return batch_id, records


def _expose_transport(app: Any) -> Callable[[Scope, Callable[..., Any], Callable[..., Any]], Awaitable[None]]:
    """Put uvicorn's transport into the scope so a handler can drop the connection (a fault)."""

    async def wrapper(scope: Scope, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        cycle = getattr(send, "__self__", None)
        if scope["type"] == "http" and cycle is not None:
            scope["sim.transport"] = getattr(cycle, "transport", None)
        await app(scope, receive, send)

    wrapper.state = app.state  # type: ignore[attr-defined]
    return wrapper


class RunningPlatform:
    """A platform served by uvicorn in a background thread (tests, the bench)."""

    def __init__(self, settings: PlatformSettings) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("province simulator did not start")
            time.sleep(0.02)

    @property
    def faults(self) -> FaultInjector:
        """The fault injector (tests may also use ``POST /admin/faults``)."""
        return self.app.state.faults

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def _registered_public_key() -> str | None:
    """The public key of the hub's ``certificate_signer`` connection when the environment holds it as JSON.

    The platform knows each issuer's public key; in the compose deployment the simulator runs
    from the hub's image with the hub's environment, so it reads the key from there.
    """
    value = os.environ.get("AIRFLOW_CONN_CERTIFICATE_SIGNER", "").strip()
    if not value.startswith("{"):
        return None
    try:
        return (json.loads(value).get("extra") or {}).get("public_key") or None
    except (ValueError, AttributeError):
        return None


def main(argv: list[str] | None = None) -> int:
    """Run the simulator as a process until interrupted."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--database-uri", default=os.environ.get("SIM_PROVINCE_DATABASE_URI"))
    parser.add_argument("--app-id", default=os.environ.get("SIM_PROVINCE_APP_ID", "640100"))
    parser.add_argument(
        "--signer-public-key",
        default=os.environ.get("SIM_PROVINCE_SIGNER_PUBLIC_KEY") or _registered_public_key(),
        help="the issuer's SM2 public key (default: that of AIRFLOW_CONN_CERTIFICATE_SIGNER, as compose passes it)",
    )
    parser.add_argument("--faults", default="{}", help="JSON object of FaultConfig fields")
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV)
    if not secret or not args.database_uri:
        parser.error(f"{SECRET_ENV} must be set in the environment and --database-uri given")
    faults = FaultConfig(**json.loads(args.faults))
    settings = PlatformSettings(args.database_uri, args.app_id, secret, args.signer_public_key, faults=faults)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    if args.ready_file:
        threading.Thread(
            target=lambda: asyncio.run(_wait_and_write(server, sock, args.ready_file)), daemon=True
        ).start()
    server.run(sockets=[sock])
    return 0


async def _wait_and_write(server: Any, sock: socket.socket, ready_file: Path) -> None:
    while not server.started:
        await asyncio.sleep(0.02)
    ready_file.write_text(f"http://127.0.0.1:{sock.getsockname()[1]}\n")


if __name__ == "__main__":
    raise SystemExit(main())
