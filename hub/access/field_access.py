"""What one department may do with each field of a shared table: its base right and the grants that widen it."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from schemas.model import Field, PersonalClass, Sharing, Table


@dataclass
class FieldAccess:
    """How one department may read one field.

    Attributes:
        base: Readable without a grant (无条件 field of a 无条件 resource).
        grants: Grants (application ids) that include the field.
        unmask_grants: Grants that include it unmasked.
        personal: The field's personal-data class.
    """

    base: bool
    personal: PersonalClass
    grants: list[int] = field(default_factory=list)
    unmask_grants: list[int] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        """Whether the field may be read at all."""
        return self.base or bool(self.grants)

    @property
    def unmasked(self) -> bool:
        """Whether it is returned in clear."""
        return self.personal is PersonalClass.NONE or bool(self.unmask_grants)


def shareable_fields(table: Table) -> list[Field]:
    """The fields of ``table`` that may be shared at all (none if the resource is 不予共享)."""
    if table.sharing is Sharing.NOT_SHARED:
        return []
    return [f for f in table.fields if f.sharing is not Sharing.NOT_SHARED]


def field_access(
    conn: psycopg.Connection, dept: str, table: Table, *, active_only: bool = True
) -> dict[str, FieldAccess]:
    """Per shareable field of ``table``, what ``dept`` may do (grants active now, or all approved)."""
    access = {
        f.name: FieldAccess(base=table.readable_without_grant(f), personal=f.personal) for f in shareable_fields(table)
    }
    when = "AND (expires_at IS NULL OR expires_at > now())" if active_only else ""
    for gid, fields, unmasked in conn.execute(
        "SELECT id, fields, unmasked FROM access.application "
        f"WHERE dept_code = %s AND resource = %s AND status = 'approved' {when} ORDER BY id",
        (dept, table.qualified_name),
    ):
        for name in fields:
            if name in access:
                access[name].grants.append(gid)
                if name in unmasked:
                    access[name].unmask_grants.append(gid)
    return access
