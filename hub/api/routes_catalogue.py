"""Catalogue routes: the resource directory and what the caller may read of a resource."""

from __future__ import annotations

from fastapi import FastAPI

from hub.access import catalogue, field_access
from hub.api.context import ApiContext
from hub.api.deps import Dept


def register(app: FastAPI, ctx: ApiContext) -> None:
    """Add the routes of this group to ``app``."""
    pool, table_of = ctx.pool, ctx.table_of

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
