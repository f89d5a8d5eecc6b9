"""Exception handlers: malformed requests (422), unfit values (400) and unknown /v1 paths, each audited."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.access.audit import AuditEvent
from hub.api.deps import where


def install(app: FastAPI, audit: Callable[[AuditEvent], None]) -> None:
    """Install the handlers on ``app``; ``audit`` records each refusal before the response is sent."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # the message names where and what, never the submitted value (it may be personal)
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems[:5])
        who = getattr(request.state, "caller", None)
        ev = AuditEvent(
            who and who.dept, "request", "refused", detail=f"malformed request ({where(request)}): {summary}"[:1000]
        )
        await run_in_threadpool(audit, ev)
        return JSONResponse({"detail": problems}, 422)

    @app.exception_handler(psycopg.DataError)
    async def unfit_value(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # a value the store cannot take anywhere a route did not expect one: the caller's input, not a fault
        who = getattr(request.state, "caller", None)
        why = f"a value does not fit its field: {type(exc).__name__}"
        await run_in_threadpool(
            audit, AuditEvent(who and who.dept, "request", "refused", detail=f"{why} ({where(request)})")
        )
        return JSONResponse({"detail": why}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def no_route(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if "endpoint" not in request.scope and request.scope.get("path", "").startswith("/v1"):
            who = getattr(request.state, "caller", None)
            why = f"no such endpoint ({where(request)}): HTTP {exc.status_code}"
            await run_in_threadpool(audit, AuditEvent(who and who.dept, "request", "refused", detail=why))
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=getattr(exc, "headers", None))
