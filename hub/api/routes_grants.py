"""Grant routes: a department applies for fields of a resource; the provider's officer decides."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException

from hub.access import grants
from hub.access.audit import AuditEvent
from hub.access.grants import AccessDenied
from hub.api.context import ApiContext
from hub.api.deps import Dept, Officer
from hub.api.models import ApplicationIn, DecisionIn


def register(app: FastAPI, ctx: ApiContext) -> None:
    """Add the routes of this group to ``app``."""
    pool, audit, table_of = ctx.pool, ctx.audit, ctx.table_of

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
