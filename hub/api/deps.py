"""Request dependencies: the calling department, the deciding officer and the stated purpose.

A refusal by any of them is appended to the audit log before the 4xx is returned.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from hub.access.audit import AuditEvent, append
from hub.api import inputs
from hub.api.guard import Caller
from hub.api.pool import Pool


def where(request: Request) -> str:
    """The method and (bounded) path of ``request``, for audit details."""
    return f"{request.method} {request.url.path[:200]}"


async def _audit_request(request: Request, ev: AuditEvent) -> None:
    pool: Pool = request.app.state.pool

    def write() -> None:
        with pool.connection() as conn:
            append(conn, ev)

    await run_in_threadpool(write)


def _caller(request: Request) -> Caller:
    found = getattr(request.state, "caller", None)
    if found is None:  # the guard authenticates every non-documentation path; reaching here is a bug
        raise HTTPException(401, "missing API key (header X-API-Key)")
    return found


# The dependencies are async (no thread hop) and reach the store only to audit a refusal.
async def caller(request: Request) -> str:
    """The department the guard authenticated by its API key; an officer credential does not read (403)."""
    who = _caller(request)
    if who.officer is not None:
        why = "an officer credential only decides applications; use the department's API key (X-API-Key)"
        await _audit_request(request, AuditEvent(who.dept, "request", "refused", detail=f"{why} ({where(request)})"))
        raise HTTPException(403, why)
    return who.dept


async def deciding_officer(request: Request) -> Caller:
    """The provider officer deciding; a department's read key cannot decide (403, audited)."""
    who = _caller(request)
    if who.officer is None:
        why = "deciding an application takes a provider officer's credential (X-Officer-Key), not a read key"
        await _audit_request(
            request, AuditEvent(who.dept, "grant.decide", "refused", detail=f"{why} ({where(request)})")
        )
        raise HTTPException(403, why)
    return who


async def purpose_of(request: Request, x_purpose: Annotated[str | None, Header()] = None) -> str:
    """The stated purpose of a read (``X-Purpose``, UTF-8 percent-encoded); a refusal is audited (400)."""
    try:
        return inputs.purpose(x_purpose)
    except inputs.BadInput as err:
        dept = _caller(request).dept
        await _audit_request(request, AuditEvent(dept, "request", "refused", detail=f"{err} ({where(request)})"))
        raise HTTPException(400, str(err)) from None


Dept = Annotated[str, Depends(caller)]
Officer = Annotated[Caller, Depends(deciding_officer)]
Purpose = Annotated[str, Depends(purpose_of)]
