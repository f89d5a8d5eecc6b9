"""校核纠错 routes: a department files an objection on a record; the provider reviews and resolves it."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from fastapi import FastAPI, HTTPException

from hub.access import objections
from hub.access.audit import AuditEvent
from hub.access.grants import AccessDenied
from hub.api.context import ApiContext
from hub.api.deps import Dept
from hub.api.models import ObjectionIn, ResolutionIn


def register(app: FastAPI, ctx: ApiContext) -> None:
    """Add the routes of this group to ``app``."""
    pool, audit, table_of = ctx.pool, ctx.audit, ctx.table_of

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
