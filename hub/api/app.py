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

import datetime as dt
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import psycopg
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.access import applicants, budgets, catalogue, cursor_token, digest, field_access, grants, objections, reads
from hub.access.audit import AuditEvent, append
from hub.access.audit_writer import AuditWriter
from hub.access.grants import AccessDenied
from hub.access.keyconfig import KeyConfigError
from hub.api import docs, inputs
from hub.api.guard import MAX_BODY_BYTES, Caller, Guard
from hub.api.pool import Pool
from hub.store.connection import connect

Plain = AfterValidator(inputs.plain_text)
Name = Annotated[str, StringConstraints(max_length=64), Plain]
Text = Annotated[str, StringConstraints(max_length=2000), Plain]
Short = Annotated[str, StringConstraints(max_length=32), Plain]


class FilterIn(BaseModel):
    """One filter: ``field`` ``op`` ``value`` (ops: eq ne lt le gt ge in is_null)."""

    field: Name
    op: Name = "eq"
    value: Any = None


class QueryIn(BaseModel):
    """A paged query: granted fields (all granted when omitted), filters, keyset cursor."""

    fields: list[Name] | None = Field(None, max_length=200)
    filters: list[FilterIn] = Field([], max_length=20)
    after: Annotated[str, StringConstraints(max_length=4096), Plain] | None = Field(
        None, description="next_cursor of the previous page"
    )
    limit: int = Field(100, ge=1, le=reads.MAX_LIMIT)


class PersonIn(BaseModel):
    """Identity number and name to verify."""

    id_number: Short
    name: Name


class EntityIn(BaseModel):
    """A USCC to verify."""

    uscc: Short


class CertificateIn(BaseModel):
    """A 证照标识 to verify."""

    certificate_id: Annotated[str, StringConstraints(max_length=128), Plain]


class PrefillIn(BaseModel):
    """The applicant's identity number and the case (申办流水号) whose applicant they are."""

    id_number: Short
    case_no: Annotated[str, StringConstraints(min_length=1, max_length=64), Plain] = Field(
        description="a case in 640100-ZW-0001 whose applicant this is"
    )


class ApplicationIn(BaseModel):
    """An application for fields of a resource, with its purpose."""

    resource: Name
    fields: list[Name] = Field(max_length=200)
    unmasked: list[Name] = Field([], max_length=200)
    purpose: Text


class DecisionIn(BaseModel):
    """A provider's decision: approve (optionally until ``expires_at``) or refuse with ``reason``."""

    decision: Literal["approve", "refuse"]
    reason: Text = ""
    expires_at: dt.datetime | None = None


class ObjectionIn(BaseModel):
    """An objection on one record (``record_key``: the resource's key fields)."""

    resource: Name
    record_key: dict[Name, Annotated[str, StringConstraints(max_length=256), Plain]] = Field(max_length=10)
    field: Name | None = None
    claim: Text


class ResolutionIn(BaseModel):
    """The provider's answer; ``corrected`` when the source data was changed."""

    answer: Text
    corrected: bool


def _where(request: Request) -> str:
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
        await _audit_request(request, AuditEvent(who.dept, "request", "refused", detail=f"{why} ({_where(request)})"))
        raise HTTPException(403, why)
    return who.dept


async def deciding_officer(request: Request) -> Caller:
    """The provider officer deciding; a department's read key cannot decide (403, audited)."""
    who = _caller(request)
    if who.officer is None:
        why = "deciding an application takes a provider officer's credential (X-Officer-Key), not a read key"
        await _audit_request(
            request, AuditEvent(who.dept, "grant.decide", "refused", detail=f"{why} ({_where(request)})")
        )
        raise HTTPException(403, why)
    return who


async def purpose_of(request: Request, x_purpose: Annotated[str | None, Header()] = None) -> str:
    """The stated purpose of a read (``X-Purpose``, UTF-8 percent-encoded); a refusal is audited (400)."""
    try:
        return inputs.purpose(x_purpose)
    except inputs.BadInput as err:
        dept = _caller(request).dept
        await _audit_request(request, AuditEvent(dept, "request", "refused", detail=f"{err} ({_where(request)})"))
        raise HTTPException(400, str(err)) from None


Dept = Annotated[str, Depends(caller)]
Officer = Annotated[Caller, Depends(deciding_officer)]
Purpose = Annotated[str, Depends(purpose_of)]


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

    def audit(ev: AuditEvent) -> None:
        writer.write(ev)  # returns once the record is committed

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # the message names where and what, never the submitted value (it may be personal)
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems[:5])
        who = getattr(request.state, "caller", None)
        ev = AuditEvent(
            who and who.dept, "request", "refused", detail=f"malformed request ({_where(request)}): {summary}"[:1000]
        )
        await run_in_threadpool(audit, ev)
        return JSONResponse({"detail": problems}, 422)

    @app.exception_handler(psycopg.DataError)
    async def unfit_value(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # a value the store cannot take anywhere a route did not expect one: the caller's input, not a fault
        who = getattr(request.state, "caller", None)
        why = f"a value does not fit its field: {type(exc).__name__}"
        await run_in_threadpool(
            audit, AuditEvent(who and who.dept, "request", "refused", detail=f"{why} ({_where(request)})")
        )
        return JSONResponse({"detail": why}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def no_route(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if "endpoint" not in request.scope and request.scope.get("path", "").startswith("/v1"):
            who = getattr(request.state, "caller", None)
            why = f"no such endpoint ({_where(request)}): HTTP {exc.status_code}"
            await run_in_threadpool(audit, AuditEvent(who and who.dept, "request", "refused", detail=why))
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=getattr(exc, "headers", None))

    def run_read(
        dept: str,
        action: str,
        resource: str | None,
        fields: list[str],
        purpose: str | None,
        fn: Callable,
        detail: str = "",
    ) -> Any:
        """Run ``fn(conn)`` -> (result, row_count, fields read); audit the outcome either way (with ``detail``)."""

        def refused(status: int, err: Exception, headers: dict | None = None) -> HTTPException:
            why = str(err)
            audit(
                AuditEvent(dept, action, "refused", resource, fields, 0, purpose, f"{why}; {detail}" if detail else why)
            )
            return HTTPException(status, why, headers)

        try:
            with pool.connection() as conn:
                result, rows, read_fields = fn(conn)
            # the result is released only after its record is durable
            audit(AuditEvent(dept, action, "allowed", resource, read_fields, rows, purpose, detail))
            return result
        except AccessDenied as err:
            raise refused(403, err) from None
        except budgets.OverBudget as err:
            raise refused(429, err, {"Retry-After": "60"}) from None
        except (reads.BadRequest, inputs.BadInput) as err:
            raise refused(400, err) from None
        except psycopg.DataError as err:  # a value the column cannot take (out of range, bad text)
            raise refused(400, ValueError(f"a value does not fit its field: {type(err).__name__}")) from None
        except reads.NotDeclared as err:
            raise refused(501, err) from None
        except LookupError as err:
            raise refused(404, err) from None

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
            acc = field_access.field_access(conn, dept, table)
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
        detail = ""
        if filters:  # the audit names the filter fields and a keyed digest of their values, never the values
            named = " ".join(f"{f.field}:{f.op}" for f in filters)
            detail = f"filters {named}; values {digest.keyed([[f.field, f.op, f.value] for f in filters])}"

        def fn(conn: Any) -> tuple:
            for f in filters:
                inputs.filter_value(f.field, f.op, f.value)
            if filters:
                _masked_filter_budget(conn, dept, table, filters)
            page = reads.query(conn, dept, table, body.fields, filters, body.after, body.limit)
            out = {"resource": table.code, "fields": page.fields, "masked": page.masked, "rows": page.rows}
            read = list(dict.fromkeys([*page.fields, *(f.field for f in filters)]))  # what was read or filtered on
            return out | {"next_cursor": page.next_cursor}, len(page.rows), read

        return run_read(dept, "query", table.qualified_name, asked, purpose, fn, detail)

    def _masked_filter_budget(conn: Any, dept: str, table: Any, filters: list[reads.Filter]) -> None:
        access = field_access.field_access(conn, dept, table)
        values = sum(
            len(f.value) if f.op == "in" and isinstance(f.value, list) else 1
            for f in filters
            if f.field in access and access[f.field].readable and not access[f.field].unmasked
        )
        budgets.consume(conn, dept, table.qualified_name, "masked_filter", values)

    @app.post("/v1/verify/person", tags=["核验"], summary="Identity number + name match a living person?")
    def verify_person(body: PersonIn, dept: Dept, purpose: Purpose) -> dict:
        fields = ["id_number", "name", "status"]

        def fn(conn: Any) -> tuple:
            budgets.consume(conn, dept, "shared.population", "verify")
            return {"match": reads.verify_person(conn, dept, body.id_number, body.name)}, 1, fields

        subject = f"subject {digest.keyed(body.id_number)}"
        return run_read(dept, "verify.person", "shared.population", fields, purpose, fn, subject)

    @app.post("/v1/verify/entity", tags=["核验"], summary="Is this USCC 存续?")
    def verify_entity(body: EntityIn, dept: Dept, purpose: Purpose) -> dict:
        fields = ["uscc", "status"]

        def fn(conn: Any) -> tuple:
            budgets.consume(conn, dept, "shared.market_entity", "verify")
            return {"active": reads.verify_entity(conn, dept, body.uscc)}, 1, fields

        subject = f"subject {digest.keyed(body.uscc)}"
        return run_read(dept, "verify.entity", "shared.market_entity", fields, purpose, fn, subject)

    @app.post(
        "/v1/verify/certificate",
        tags=["核验"],
        summary="Is this e-certificate valid?",
        responses={404: {"description": "declared but not in the store"}, 501: {"description": "not declared"}},
    )
    def verify_certificate(body: CertificateIn, dept: Dept, purpose: Purpose) -> dict:
        table = reads.certificate_table()
        fields = ["certificate_id", "status"]

        resource = table.qualified_name if table else None

        def fn(conn: Any) -> tuple:
            if resource:
                budgets.consume(conn, dept, resource, "verify")
            ok = reads.verify_certificate(conn, dept, body.certificate_id, dt.date.today())
            return {"valid": ok}, 1, fields

        subject = f"subject {digest.keyed(body.certificate_id)}"
        return run_read(dept, "verify.certificate", resource, fields, purpose, fn, subject)

    @app.post("/v1/prefill", tags=["data"], summary="Prefill profile of an applicant (granted fields only)")
    def post_prefill(body: PrefillIn, dept: Dept, purpose: Purpose) -> dict:
        subject = f"subject {digest.keyed(body.id_number)}; case {body.case_no.strip()}"
        try:
            with pool.connection() as conn:
                applicants.check_case(conn, body.case_no, body.id_number)
                profile = reads.prefill(conn, dept, body.id_number)
        except AccessDenied as err:
            audit(AuditEvent(dept, "prefill", "refused", applicants.CASE_TABLE, [], 0, purpose, f"{err}; {subject}"))
            raise HTTPException(403, str(err)) from None
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
                    subject,
                )
            )
        for code, why in profile.withheld.items():
            qualified = catalogue.resolve(code).qualified_name
            audit(AuditEvent(dept, "prefill", "refused", qualified, [], 0, purpose, f"{why}; {subject}"))
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
    def post_decision(app_id: int, body: DecisionIn, officer: Officer) -> dict:
        dept = officer.dept
        try:
            with pool.connection() as conn:
                if body.decision == "approve":
                    grants.approve(conn, app_id, dept, body.expires_at, officer.officer)
                else:
                    grants.refuse(conn, app_id, dept, body.reason, officer.officer)
        except AccessDenied as err:
            audit(AuditEvent(dept, f"grant.{body.decision}", "refused", detail=f"{err} (officer {officer.officer})"))
            raise HTTPException(403, str(err)) from None
        except LookupError as err:
            audit(AuditEvent(dept, f"grant.{body.decision}", "refused", detail=str(err)))
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
        except psycopg.DataError as err:
            why = f"a record key value does not fit its field: {type(err).__name__}"
            audit(AuditEvent(dept, "objection.file", "refused", table.qualified_name, detail=why))
            raise HTTPException(400, why) from None

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
            audit(AuditEvent(dept, "objection", "refused", detail=str(err)))
            raise HTTPException(404, str(err)) from None

    return app
