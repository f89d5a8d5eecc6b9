"""What the routes share: the store pool, the audit writer, and the audited read around a route's work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from fastapi import HTTPException

from hub.access import budgets, catalogue, reads
from hub.access.audit import AuditEvent
from hub.access.audit_writer import AuditWriter
from hub.access.grants import AccessDenied
from hub.api import inputs
from hub.api.pool import Pool


class ApiContext:
    """The pool and audit writer of one app, with the read and lookup every route audits the same way."""

    def __init__(self, pool: Pool, writer: AuditWriter) -> None:
        self.pool = pool
        self.writer = writer

    def audit(self, ev: AuditEvent) -> None:
        """Append ``ev`` to the audit log through the group-committing writer."""
        self.writer.write(ev)  # returns once the record is committed

    def run_read(
        self,
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
            self.audit(
                AuditEvent(dept, action, "refused", resource, fields, 0, purpose, f"{why}; {detail}" if detail else why)
            )
            return HTTPException(status, why, headers)

        try:
            with self.pool.connection() as conn:
                result, rows, read_fields = fn(conn)
            # the result is released only after its record is durable
            self.audit(AuditEvent(dept, action, "allowed", resource, read_fields, rows, purpose, detail))
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

    def table_of(self, dept: str, ref: str, action: str, purpose: str | None) -> Any:
        """The table ``ref`` names; an unknown one is audited as ``action`` refused and answered 404."""
        try:
            return catalogue.resolve(ref)
        except LookupError as err:
            self.audit(AuditEvent(dept, action, "refused", None, [], 0, purpose, str(err)))
            raise HTTPException(404, str(err)) from None
