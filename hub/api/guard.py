"""The ASGI guard in front of the API: authentication and body limits before any body is parsed.

For every path but the documentation, it (1) authenticates the ``X-API-Key`` (or, where given,
an ``X-Officer-Key``) from the headers alone, answering 401 and counting the failure per source
and minute (:mod:`hub.access.authfail`) without reading the body; (2) refuses a declared
``Content-Length`` above the limit with 413; (3) reads the body, streamed or not, only up to the
limit (413 beyond it) and hands it to the application. The authenticated department (and
officer) go in the request state, so the route does not authenticate again. An oversized body
from an authenticated caller is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.access import authfail, consumers, officers
from hub.access.audit import AuditEvent, append
from hub.api.pool import Pool

MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class Caller:
    """Who a request authenticated as: the department, and the officer when an officer credential was used."""

    dept: str
    officer: str | None = None


class TooLarge(Exception):
    """The body passed the limit while being read."""


class Guard:
    """Pure ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, pool: Pool, is_public: Callable[[str], bool], max_body: int) -> None:
        self.app = app
        self.pool = pool
        self.is_public = is_public
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102 (the ASGI interface)
        if scope["type"] != "http" or self.is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            caller = await run_in_threadpool(self._authenticate, headers)
        except (consumers.AuthError, officers.OfficerAuthError) as err:
            await run_in_threadpool(self._count_failure, scope, err)
            await JSONResponse({"detail": err.args[0]}, 401)(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            problem = (
                f"request body of {declared} bytes is larger than the limit of {self.max_body} bytes"
                if declared.isdigit()
                else "Content-Length is not a number of bytes"
            )
            await self._refuse(scope, receive, send, caller, 413 if declared.isdigit() else 400, problem)
            return
        try:
            body = await self._read(receive)
        except TooLarge:
            problem = f"request body is larger than the limit of {self.max_body} bytes"
            await self._refuse(scope, receive, send, caller, 413, problem)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _authenticate(self, headers: Headers) -> Caller:
        officer_token = headers.get("x-officer-key")
        with self.pool.connection() as conn:
            if officer_token:
                officer = officers.authenticate(conn, officer_token)
                return Caller(officer.dept_code, officer.officer_id)
            return Caller(consumers.authenticate(conn, headers.get("x-api-key")))

    def _count_failure(self, scope: Scope, err: Exception) -> None:
        client = scope.get("client")
        source = client[0] if client else "unknown"
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        with self.pool.connection() as conn:
            authfail.record(conn, source, err.args[1], err.args[0], scope["method"], path)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, caller: Caller, status: int, why: str) -> None:
        def audit() -> None:
            with self.pool.connection() as conn:
                append(
                    conn,
                    AuditEvent(
                        caller.dept,
                        "request",
                        "refused",
                        detail=f"{why} ({scope['method']} {scope['path'][: authfail.PATH_CHARS]})",
                    ),
                )

        await run_in_threadpool(audit)
        await JSONResponse({"detail": why}, status)(scope, receive, send)
