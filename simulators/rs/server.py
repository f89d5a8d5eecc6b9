r"""The 人社局 social-insurance REST API simulator (FastAPI, served by uvicorn on 127.0.0.1).

It implements the API exactly as departments.md specifies it::

    POST {base}/api/v1/token            {"app_id", "app_secret"} -> {"access_token", "token_type", "expires_in"}
    GET  {base}/api/v1/insured-persons  ?updated_since=<ISO-8601>&page_size=<=1000&cursor=<opaque>
                                        Authorization: Bearer <token>
                                        -> {"data": [...], "next_cursor": "..." | null}

Rows come ordered by ``gxsj``, then ``grbh`` (then ``xzlx``, the rest of the key);
``updated_since`` is inclusive (``gxsj >= updated_since``); the cursor is opaque (the position
after the page's last row). Data lives in the simulator database (``sim_rs``, table
``insured_persons``, made by :mod:`simulators.rs.insured`).

Simulator-only endpoints (no token; the server binds 127.0.0.1 only):
``GET /admin/health``, ``GET|POST /admin/faults`` (see :class:`simulators.rs.faults.Faults`;
the reply also has the counters) and ``POST /admin/day {"day": k}`` (a day of changes).

Run it as a process::

    RS_SIM_APP_SECRET=... python -m simulators.rs.server --db postgresql://... --port 8765 \
        --app-id sharehub --persons 5000 --seed 640100 [--fault throttle_every=7 ...]

``--port 0`` takes a free port; ``--port-file F`` writes the port actually bound to ``F``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hmac
import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from simulators.city import CityPlan
from simulators.rs import insured
from simulators.rs.faults import FaultState

MAX_PAGE_SIZE = 1000
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

PAGE_SQL = f"""
SELECT gxsj, grbh, xzlx, json_strip_nulls(json_build_object(
    'grbh', grbh, 'sfzhm', sfzhm, 'xm', xm, 'xzlx', xzlx, 'cbzt', cbzt, 'dwbh', dwbh, 'dwmc', dwmc,
    'tyshxydm', tyshxydm, 'cbrq', to_char(cbrq, 'YYYY-MM-DD'), 'jfjs', jfjs::text, 'sbkh', sbkh,
    'fkrq', to_char(fkrq, 'YYYY-MM-DD'),
    'gxsj', to_char(gxsj AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"')))::text
FROM {insured.TABLE}
WHERE gxsj >= %(since)s AND (gxsj, grbh, xzlx) > (%(after_gxsj)s, %(after_grbh)s, %(after_xzlx)s)
ORDER BY gxsj, grbh, xzlx
LIMIT %(limit)s
"""


@dataclass
class Simulator:
    """The server's state: its database, credentials, tokens and faults."""

    db_uri: str
    app_id: str
    app_secret: str
    plan: CityPlan
    faults: FaultState = field(default_factory=FaultState)
    tokens: dict[str, float] = field(default_factory=dict)
    tokens_lock: threading.Lock = field(default_factory=threading.Lock)
    local: threading.local = field(default_factory=threading.local)

    def connection(self) -> Any:
        """This worker thread's database connection."""
        import psycopg

        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.db_uri, autocommit=True)
            self.local.conn = conn
        return conn

    def issue_token(self) -> tuple[str, float]:
        """A new token and its lifetime in seconds."""
        token = secrets.token_urlsafe(24)
        ttl = self.faults.faults.token_ttl
        with self.tokens_lock:
            self.tokens[token] = time.monotonic() + ttl
        with self.faults.lock:
            self.faults.counters.tokens_issued += 1
        return token, ttl

    def token_valid(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header holds a live token."""
        if not header or not header.startswith("Bearer "):
            return False
        with self.tokens_lock:
            expiry = self.tokens.get(header.removeprefix("Bearer ").strip())
        return expiry is not None and expiry > time.monotonic()

    def expire_tokens(self) -> None:
        """Expire every token issued so far."""
        with self.tokens_lock:
            self.tokens.clear()


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def encode_cursor(gxsj: dt.datetime, grbh: str, xzlx: str) -> str:
    """The opaque cursor after a row."""
    raw = json.dumps([gxsj.isoformat(), grbh, xzlx]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str, str]:
    """Undo :func:`encode_cursor`.

    Raises:
        ValueError: if the cursor was not made by this server.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        gxsj, grbh, xzlx = json.loads(raw)
        return dt.datetime.fromisoformat(gxsj), str(grbh), str(xzlx)
    except (ValueError, TypeError) as err:
        raise ValueError("cursor is not valid") from err


def parse_since(value: str | None) -> dt.datetime:
    """``updated_since`` as an aware datetime (a naive one is Beijing time)."""
    if not value:
        return dt.datetime(1900, 1, 1, tzinfo=SHANGHAI)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def create_app(sim: Simulator) -> FastAPI:
    """The FastAPI application serving ``sim``."""
    app = FastAPI(title="人社局 social insurance API (ShareHub simulator)", docs_url=None, redoc_url=None)
    app.state.sim = sim

    @app.post("/api/v1/token")
    async def token(request: Request) -> Response:
        try:
            body = await request.json()
            app_id, app_secret = str(body["app_id"]), str(body["app_secret"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_request", "body must be JSON with app_id and app_secret")
        if not (hmac.compare_digest(app_id, sim.app_id) and hmac.compare_digest(app_secret, sim.app_secret)):
            return _error(401, "invalid_client", "unknown app_id or wrong app_secret")
        value, ttl = sim.issue_token()
        return JSONResponse({"access_token": value, "token_type": "Bearer", "expires_in": int(ttl)})

    @app.get("/api/v1/insured-persons")
    def insured_persons(
        request: Request, updated_since: str | None = None, page_size: int = 100, cursor: str | None = None
    ) -> Response:
        if not sim.token_valid(request.headers.get("authorization")):
            with sim.faults.lock:
                sim.faults.counters.unauthorized += 1
            return _error(401, "invalid_token", "token missing, unknown or expired", {"WWW-Authenticate": "Bearer"})
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            return _error(400, "invalid_request", f"page_size must be 1..{MAX_PAGE_SIZE}")
        try:
            since = parse_since(updated_since)
            after = decode_cursor(cursor) if cursor else (dt.datetime(1900, 1, 1, tzinfo=SHANGHAI), "", "")
        except ValueError as err:
            return _error(400, "invalid_request", str(err))
        status, delay = sim.faults.decide()
        if status == 429:
            retry = str(sim.faults.faults.retry_after)
            return _error(429, "too_many_requests", "rate limit exceeded", {"Retry-After": retry})
        if status:
            return _error(status, "unavailable", "upstream temporarily unavailable")
        if delay:
            time.sleep(delay)
        params = {
            "since": since,
            "after_gxsj": after[0],
            "after_grbh": after[1],
            "after_xzlx": after[2],
            "limit": page_size + 1,
        }
        rows = sim.connection().execute(PAGE_SQL, params).fetchall()
        page = rows[:page_size]
        next_cursor = encode_cursor(*page[-1][:3]) if len(rows) > page_size else None
        body = '{"data":[' + ",".join(r[3] for r in page) + '],"next_cursor":' + json.dumps(next_cursor) + "}"
        if sim.faults.served(len(page)):
            sim.expire_tokens()
        return Response(body.encode(), media_type="application/json")

    @app.get("/admin/health")
    def health() -> dict[str, Any]:
        count = sim.connection().execute(f"SELECT count(*) FROM {insured.TABLE}").fetchone()[0]
        return {"ok": True, "rows": count}

    @app.get("/admin/faults")
    def get_faults() -> dict[str, Any]:
        return sim.faults.snapshot()

    @app.post("/admin/faults")
    async def set_faults(request: Request) -> Response:
        try:
            values = await request.json()
            with sim.faults.lock:
                sim.faults.faults.update(values)
        except (ValueError, AttributeError) as err:
            return _error(400, "invalid_request", str(err))
        return JSONResponse(sim.faults.snapshot())

    @app.post("/admin/day")
    async def day(request: Request) -> Response:
        try:
            k = int((await request.json())["day"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_request", 'body must be {"day": <int>}')
        import asyncio

        change = await asyncio.to_thread(insured.apply_day, sim.db_uri, k, sim.plan)
        return JSONResponse(change.__dict__)

    return app


def parse_fault(text: str) -> tuple[str, float]:
    """``name=value`` of a ``--fault`` flag."""
    name, _, value = text.partition("=")
    return name.strip(), float(value)


def main(argv: list[str] | None = None) -> None:
    """Run the simulator server until interrupted."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="JSON with db, app_id, app_secret, persons, seed (provision.py)")
    parser.add_argument("--db", help="libpq URI of the simulator database")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument("--app-id", default=None)
    parser.add_argument("--persons", type=int, default=None, help="city scale (for a day of changes)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE", help="a Faults setting")
    args = parser.parse_args(argv)
    config: dict[str, Any] = json.loads(args.config.read_text()) if args.config else {}
    app_secret = os.environ.get("RS_SIM_APP_SECRET") or config.get("app_secret")
    db = args.db or config.get("db")
    if not app_secret or not db:
        parser.error("need --db (or --config) and RS_SIM_APP_SECRET (or app_secret in --config)")
    sim = Simulator(
        db_uri=db,
        app_id=args.app_id or config.get("app_id") or os.environ.get("RS_SIM_APP_ID", "sharehub"),
        app_secret=app_secret,
        plan=CityPlan(args.persons or config.get("persons", 5000), args.seed or config.get("seed", 640100)),
    )
    sim.faults.faults.update(config.get("faults", {}) | dict(parse_fault(f) for f in args.fault))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port or config.get("port", 0)))
    port = sock.getsockname()[1]
    if args.port_file:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        tmp.replace(args.port_file)
    print(f"人社 simulator listening on http://{args.host}:{port}", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(sim), log_level="warning", timeout_graceful_shutdown=2))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
