"""The FastAPI application departments call (OpenAPI docs at ``/docs`` and ``/redoc``, offline-ready).

Every request carries ``X-API-Key``; data reads also state their purpose in ``X-Purpose``.
Every read, refusal and decision is appended to the hash-chained audit log. Identity numbers
travel in request bodies, never in URLs, so access logs hold no personal data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, Field

from hub.access import catalogue, consumers, grants, objections, reads
from hub.access.audit import AuditEvent, append
from hub.access.grants import AccessDenied
from hub.api import docs
from hub.api.pool import Pool


class FilterIn(BaseModel):
    """One filter: ``field`` ``op`` ``value`` (ops: eq ne lt le gt ge in is_null)."""

    field: str
    op: str = "eq"
    value: Any = None


class QueryIn(BaseModel):
    """A paged query: granted fields (all granted when omitted), filters, keyset cursor."""

    fields: list[str] | None = None
    filters: list[FilterIn] = []
    after: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(100, ge=1, le=reads.MAX_LIMIT)


class PersonIn(BaseModel):
    """Identity number and name to verify."""

    id_number: str = Field(max_length=32)
    name: str = Field(max_length=64)


class EntityIn(BaseModel):
    """A USCC to verify."""

    uscc: str = Field(max_length=32)


class CertificateIn(BaseModel):
    """A 证照标识 to verify."""

    certificate_id: str = Field(max_length=128)


class PrefillIn(BaseModel):
    """The applicant's identity number."""

    id_number: str = Field(max_length=32)


class ApplicationIn(BaseModel):
    """An application for fields of a resource, with its purpose."""

    resource: str
    fields: list[str]
    unmasked: list[str] = []
    purpose: str


class DecisionIn(BaseModel):
    """A provider's decision: approve (optionally until ``expires_at``) or refuse with ``reason``."""

    decision: Literal["approve", "refuse"]
    reason: str = ""
    expires_at: dt.datetime | None = None


class ObjectionIn(BaseModel):
    """An objection on one record (``record_key``: the resource's key fields)."""

    resource: str
    record_key: dict[str, str]
    field: str | None = None
    claim: str


class ResolutionIn(BaseModel):
    """The provider's answer; ``corrected`` when the source data was changed."""

    answer: str
    corrected: bool


def caller(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
    """The department whose key the request carries; refusals are audited and answered 401."""
    pool: Pool = request.app.state.pool
    with pool.connection() as conn:
        try:
            return consumers.authenticate(conn, x_api_key)
        except consumers.AuthError as err:
            append(
                conn,
                AuditEvent(
                    err.args[1], "auth", "refused", detail=f"{err.args[0]} ({request.method} {request.url.path})"
                ),
            )
            raise HTTPException(401, err.args[0]) from None


def purpose_of(x_purpose: Annotated[str | None, Header()] = None) -> str:
    """The stated purpose of a read (``X-Purpose``, UTF-8 percent-encoded)."""
    text = unquote(x_purpose or "").strip()
    if not text:
        raise HTTPException(400, "state the purpose of the read in the X-Purpose header (UTF-8, percent-encoded)")
    return text[:200]


Dept = Annotated[str, Depends(caller)]
Purpose = Annotated[str, Depends(purpose_of)]


def create_app(uri: str, pool_size: int = 32) -> FastAPI:
    """Build the API over the store at ``uri``."""
    pool = Pool(uri, pool_size)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
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

    def audit(ev: AuditEvent) -> None:
        with pool.connection() as conn:
            append(conn, ev)

    def run_read(
        dept: str, action: str, resource: str | None, fields: list[str], purpose: str | None, fn: Callable
    ) -> Any:
        """Run ``fn(conn)`` -> (result, row_count, fields read); audit the outcome either way."""
        try:
            with pool.connection() as conn:
                result, rows, read_fields = fn(conn)
                append(conn, AuditEvent(dept, action, "allowed", resource, read_fields, rows, purpose))
                return result
        except AccessDenied as err:
            audit(AuditEvent(dept, action, "refused", resource, fields, 0, purpose, str(err)))
            raise HTTPException(403, str(err)) from None
        except reads.BadRequest as err:
            audit(AuditEvent(dept, action, "refused", resource, fields, 0, purpose, str(err)))
            raise HTTPException(400, str(err)) from None
        except reads.NotDeclared as err:
            audit(AuditEvent(dept, action, "refused", resource, fields, 0, purpose, str(err)))
            raise HTTPException(501, str(err)) from None
        except LookupError as err:
            audit(AuditEvent(dept, action, "refused", resource, fields, 0, purpose, str(err)))
            raise HTTPException(404, str(err)) from None

    def table_of(dept: str, ref: str, action: str, purpose: str | None) -> Any:
        try:
            return catalogue.resolve(ref)
        except LookupError as err:
            audit(AuditEvent(dept, action, "refused", None, [], 0, purpose, str(err)))
            raise HTTPException(404, str(err)) from None

    @app.get("/v1/catalog", tags=["catalogue"], summary="政务信息资源目录")
    def get_catalog(dept: Dept) -> list[dict]:
        with pool.connection() as conn:
            return [e.to_json() for e in catalogue.entries(conn)]

    @app.get("/v1/resources/{ref}/access", tags=["catalogue"], summary="What the caller may read of a resource")
    def get_access(ref: str, dept: Dept) -> dict:
        table = table_of(dept, ref, "access", None)
        with pool.connection() as conn:
            acc = grants.field_access(conn, dept, table)
        return {
            "resource": table.code,
            "fields": {
                n: {"readable": a.readable, "masked": not a.unmasked, "grants": a.grants} for n, a in acc.items()
            },
        }

    @app.post("/v1/resources/{ref}/query", tags=["data"], summary="Query a shared table (keyset-paged)")
    def post_query(ref: str, body: QueryIn, dept: Dept, purpose: Purpose) -> dict:
        table = table_of(dept, ref, "query", purpose)
        filters = [reads.Filter(f.field, f.op, f.value) for f in body.filters]
        asked = [*(body.fields or []), *(f.field for f in filters)]

        def fn(conn: Any) -> tuple:
            page = reads.query(conn, dept, table, body.fields, filters, body.after, body.limit)
            out = {"resource": table.code, "fields": page.fields, "masked": page.masked, "rows": page.rows}
            return out | {"next_cursor": page.next_cursor}, len(page.rows), page.fields

        return run_read(dept, "query", table.qualified_name, asked, purpose, fn)

    @app.post("/v1/verify/person", tags=["核验"], summary="Identity number + name match a living person?")
    def verify_person(body: PersonIn, dept: Dept, purpose: Purpose) -> dict:
        fields = ["id_number", "name", "status"]
        return run_read(
            dept,
            "verify.person",
            "shared.population",
            fields,
            purpose,
            lambda conn: ({"match": reads.verify_person(conn, dept, body.id_number, body.name)}, 1, fields),
        )

    @app.post("/v1/verify/entity", tags=["核验"], summary="Is this USCC 存续?")
    def verify_entity(body: EntityIn, dept: Dept, purpose: Purpose) -> dict:
        fields = ["uscc", "status"]
        return run_read(
            dept,
            "verify.entity",
            "shared.market_entity",
            fields,
            purpose,
            lambda conn: ({"active": reads.verify_entity(conn, dept, body.uscc)}, 1, fields),
        )

    @app.post(
        "/v1/verify/certificate",
        tags=["核验"],
        summary="Is this e-certificate valid?",
        responses={404: {"description": "declared but not in the store"}, 501: {"description": "not declared"}},
    )
    def verify_certificate(body: CertificateIn, dept: Dept, purpose: Purpose) -> dict:
        table = reads.certificate_table()
        fields = ["certificate_id", "status"]

        def fn(conn: Any) -> tuple:
            ok = reads.verify_certificate(conn, dept, body.certificate_id, dt.date.today())
            return {"valid": ok}, 1, fields

        return run_read(dept, "verify.certificate", table.qualified_name if table else None, fields, purpose, fn)

    @app.post("/v1/prefill", tags=["data"], summary="Prefill profile of an applicant (granted fields only)")
    def post_prefill(body: PrefillIn, dept: Dept, purpose: Purpose) -> dict:
        with pool.connection() as conn:
            profile = reads.prefill(conn, dept, body.id_number)
        for code, rows in profile.sections.items():
            audit(
                AuditEvent(
                    dept,
                    "prefill",
                    "allowed",
                    catalogue.resolve(code).qualified_name,
                    profile.fields[code],
                    len(rows),
                    purpose,
                )
            )
        for code, why in profile.withheld.items():
            audit(AuditEvent(dept, "prefill", "refused", catalogue.resolve(code).qualified_name, [], 0, purpose, why))
        return {"sections": profile.sections, "withheld": profile.withheld}

    @app.post("/v1/applications", tags=["grants"], summary="Apply for fields of a resource")
    def post_application(body: ApplicationIn, dept: Dept) -> dict:
        table = table_of(dept, body.resource, "grant.apply", body.purpose)
        try:
            with pool.connection() as conn:
                app_id = grants.apply(conn, dept, table, body.fields, body.purpose, body.unmasked)
        except AccessDenied as err:
            audit(
                AuditEvent(dept, "grant.apply", "refused", table.qualified_name, body.fields, 0, body.purpose, str(err))
            )
            raise HTTPException(403, str(err)) from None
        return {"id": app_id, "status": "pending"}

    @app.get("/v1/applications", tags=["grants"], summary="The caller's applications and those it must decide")
    def get_applications(dept: Dept) -> list[dict]:
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, dept_code, resource, provider, fields, unmasked, purpose, status, reason, due_on, "
                "expires_at "
                "FROM access.application WHERE dept_code = %s OR provider = %s ORDER BY id",
                (dept, dept),
            ).fetchall()
        keys = ("id", "dept_code", "resource", "provider", "fields", "unmasked", "purpose", "status", "reason")
        return [
            dict(zip(keys, r[:9], strict=True))
            | {"due_on": r[9].isoformat(), "expires_at": r[10] and r[10].isoformat()}
            for r in rows
        ]

    @app.post("/v1/applications/{app_id}/decision", tags=["grants"], summary="Provider approves or refuses")
    def post_decision(app_id: int, body: DecisionIn, dept: Dept) -> dict:
        try:
            with pool.connection() as conn:
                if body.decision == "approve":
                    grants.approve(conn, app_id, dept, body.expires_at)
                else:
                    grants.refuse(conn, app_id, dept, body.reason)
        except AccessDenied as err:
            audit(AuditEvent(dept, f"grant.{body.decision}", "refused", detail=str(err)))
            raise HTTPException(403, str(err)) from None
        except LookupError as err:
            raise HTTPException(404, str(err)) from None
        return {"id": app_id, "status": "approved" if body.decision == "approve" else "refused"}

    @app.post("/v1/objections", tags=["校核纠错"], summary="File an objection on a record")
    def post_objection(body: ObjectionIn, dept: Dept) -> dict:
        table = table_of(dept, body.resource, "objection.file", None)
        try:
            with pool.connection() as conn:
                oid = objections.file(conn, dept, table, body.record_key, body.field, body.claim)
                return objections.get(conn, oid).to_json()
        except AccessDenied as err:
            audit(AuditEvent(dept, "objection.file", "refused", table.qualified_name, detail=str(err)))
            raise HTTPException(403, str(err)) from None

    @app.get("/v1/objections", tags=["校核纠错"], summary="Objections filed by the caller and its queue as provider")
    def get_objections(dept: Dept) -> dict:
        with pool.connection() as conn:
            return {
                "filed": [o.to_json() for o in objections.listing(conn, dept=dept)],
                "queue": [o.to_json() for o in objections.listing(conn, provider=dept)],
            }

    @app.post("/v1/objections/{oid}/review", tags=["校核纠错"], summary="Provider takes an objection into review")
    def post_review(oid: int, dept: Dept) -> dict:
        return _provider_step(lambda conn: objections.start_review(conn, oid, dept), oid, dept)

    @app.post("/v1/objections/{oid}/resolution", tags=["校核纠错"], summary="Provider confirms or corrects")
    def post_resolution(oid: int, body: ResolutionIn, dept: Dept) -> dict:
        return _provider_step(
            lambda conn: objections.resolve_objection(conn, oid, dept, body.answer, corrected=body.corrected), oid, dept
        )

    def _provider_step(step: Callable, oid: int, dept: str) -> dict:
        try:
            with pool.connection() as conn:
                step(conn)
                return objections.get(conn, oid).to_json()
        except AccessDenied as err:
            audit(AuditEvent(dept, "objection", "refused", detail=str(err)))
            raise HTTPException(403, str(err)) from None
        except LookupError as err:
            raise HTTPException(404, str(err)) from None

    return app
