"""The 政务信息资源目录 derived from the declarations in ``schemas/tables``, plus live figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import psycopg

from schemas.disclosure import hidden_by_mask
from schemas.model import Field, Sharing, Table
from schemas.tables import TABLES

SHARING_TITLES = {
    Sharing.UNCONDITIONAL: "无条件共享",
    Sharing.CONDITIONAL: "有条件共享",
    Sharing.NOT_SHARED: "不予共享",
}
SHARING_METHOD = "接口 (HTTP API) / 库表 (generated PostgreSQL views)"


def tables() -> dict[str, Table]:
    """Every declared shared table, by qualified name."""
    return TABLES


def resolve(ref: str) -> Table:
    """The declared table whose resource code or qualified name is ``ref``.

    Raises:
        LookupError: no such resource.
    """
    for t in tables().values():
        if ref in (t.code, t.qualified_name, t.name):
            return t
    raise LookupError(f"no shared resource {ref!r} in the catalogue")


@dataclass(frozen=True)
class CatalogueEntry:
    """One resource of the catalogue, as ``hub catalog --json`` and ``GET /v1/catalog`` show it."""

    code: str
    name: str
    table: str
    provider: str
    summary: str
    sharing: str
    sharing_title: str
    sharing_method: str
    update_cycle: str
    derived_from: list[str]
    fields: list[dict]
    row_count: int | None
    last_update: str | None

    def to_json(self) -> dict:
        """Plain JSON-able dict."""
        return asdict(self)


def field_entry(table: Table, f: Field) -> dict:
    """One field of a catalogue entry: its declaration, whether it needs a grant and what its mask hides."""
    return {
        "name": f.name,
        "title": f.title,
        "type": str(f.type),
        "personal": str(f.personal),
        "sharing": str(f.sharing),
        "sharing_title": SHARING_TITLES[f.sharing],
        "key": f.key,
        "readable_without_grant": table.readable_without_grant(f),
        "carries": [str(i) for i in f.carries],
        "masked_hides": sorted(str(i) for i in hidden_by_mask(f)),
        "derived_from": list(f.derived_from),
    }


def entries(conn: psycopg.Connection | None) -> list[CatalogueEntry]:
    """The catalogue; live row count and last load time come from ``conn`` when given."""
    out = []
    for t in tables().values():
        rows, last = None, None
        if conn is not None and conn.execute("SELECT to_regclass(%s)", (t.qualified_name,)).fetchone()[0]:
            rows, last = conn.execute(f"SELECT count(*), max(loaded_at) FROM {t.qualified_name}").fetchone()
        out.append(
            CatalogueEntry(
                code=t.code,
                name=t.title,
                table=t.qualified_name,
                provider=t.provider,
                summary=t.summary,
                sharing=str(t.sharing),
                sharing_title=SHARING_TITLES[t.sharing],
                sharing_method=SHARING_METHOD,
                update_cycle=t.update_cycle,
                derived_from=list(t.derived_from),
                fields=[field_entry(t, f) for f in t.fields],
                row_count=rows,
                last_update=last.isoformat() if last else None,
            )
        )
    return out
