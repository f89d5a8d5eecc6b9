"""Data routes: paged queries, 核验 (verification) and prefill; every read is audited and budgeted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI, HTTPException

from hub.access import applicants, budgets, catalogue, digest, field_access, reads
from hub.access.audit import AuditEvent
from hub.access.grants import AccessDenied
from hub.api import inputs
from hub.api.context import ApiContext
from hub.api.deps import Dept, Purpose
from hub.api.models import CertificateIn, EntityIn, PersonIn, PrefillIn, QueryIn


def register(app: FastAPI, ctx: ApiContext) -> None:
    """Add the routes of this group to ``app``."""
    pool, audit, run_read, table_of = ctx.pool, ctx.audit, ctx.run_read, ctx.table_of

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


def _masked_filter_budget(conn: Any, dept: str, table: Any, filters: list[reads.Filter]) -> None:
    access = field_access.field_access(conn, dept, table)
    values = sum(
        len(f.value) if f.op == "in" and isinstance(f.value, list) else 1
        for f in filters
        if f.field in access and access[f.field].readable and not access[f.field].unmasked
    )
    budgets.consume(conn, dept, table.qualified_name, "masked_filter", values)
