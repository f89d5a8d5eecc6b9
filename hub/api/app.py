"""The FastAPI application departments call (OpenAPI docs at ``/docs`` and ``/redoc``, offline-ready).

Every request carries ``X-API-Key`` (deciding an application: a provider officer's
``X-Officer-Key``), checked with the body size by :mod:`hub.api.guard` before any body is parsed;
data reads also state their purpose in ``X-Purpose``. Every read, refusal, malformed request and
decision is appended to the hash-chained audit log; looked-up values are recorded as keyed digests
(:mod:`hub.access.digest`). Verification calls and filters on masked fields draw on per-department
budgets (:mod:`hub.access.budgets`, 429 beyond them). Identity numbers travel in request bodies,
never in URLs, so access logs hold no personal data.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub.access import cursor_token, digest
from hub.access.audit_writer import AuditWriter
from hub.access.keyconfig import KeyConfigError
from hub.api import docs, errors, routes_catalogue, routes_grants, routes_objections, routes_reads
from hub.api.context import ApiContext
from hub.api.guard import MAX_BODY_BYTES, Guard
from hub.api.pool import Pool
from hub.store.connection import connect


def max_body_bytes() -> int:
    """The request body limit: ``$HUB_API_MAX_BODY_BYTES`` or 256 KiB.

    Raises:
        KeyConfigError: the variable is not a positive number of bytes.
    """
    raw = os.environ.get("HUB_API_MAX_BODY_BYTES", "").strip()
    if not raw:
        return MAX_BODY_BYTES
    if not raw.isdigit() or int(raw) < 1024:
        raise KeyConfigError(f"HUB_API_MAX_BODY_BYTES must be a number of bytes of at least 1024, not {raw!r}")
    return int(raw)


def _is_public(path: str) -> bool:
    return path in docs.PUBLIC_PATHS or path.startswith(docs.STATIC_URL + "/")


def create_app(uri: str, pool_size: int = 32) -> FastAPI:
    """Build the API over the store at ``uri``.

    Raises:
        KeyConfigError: a key the API needs (cursor, audit digest) or the body limit is misconfigured,
            so the API refuses to start rather than fail on a request.
    """
    cursor_token.load_key()
    digest.load_key()
    limit = max_body_bytes()
    pool = Pool(uri, pool_size)
    # every record of this process goes through one group-committing writer (hub.access.audit_writer)
    writer = AuditWriter(lambda: connect(uri, autocommit=True))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        writer.close()
        pool.close()

    app = FastAPI(
        lifespan=lifespan,
        title="ShareHub 政务数据共享接口",
        version="1",
        description="Shared resources of 银川市 under 国发〔2016〕51号 / 《政务数据共享条例》: catalogue, "
        "queries, 核验, prefill, applications and 校核纠错. Authenticate with `X-API-Key`; state the purpose "
        "of every data read in `X-Purpose`.",
        docs_url=None,  # served by hub.api.docs with their assets from an installed package, not a CDN
        redoc_url=None,
    )
    docs.install(app)
    app.state.pool = pool
    app.add_middleware(Guard, pool=pool, is_public=_is_public, max_body=limit)
    ctx = ApiContext(pool, writer)
    errors.install(app, ctx.audit)
    # registered in this order, so the OpenAPI document lists the groups as before
    for group in (routes_catalogue, routes_reads, routes_grants, routes_objections):
        group.register(app, ctx)
    return app
