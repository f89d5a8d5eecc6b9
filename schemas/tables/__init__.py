"""All standard shared tables, by qualified name."""

from __future__ import annotations

from schemas.model import Table
from schemas.tables.population import POPULATION

TABLES: dict[str, Table] = {t.qualified_name: t for t in (POPULATION,)}
