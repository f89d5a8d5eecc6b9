"""The source registry: the one place a source system is declared.

Each :class:`SourceSpec` says where a source lives (an Airflow connection), how to read it,
which mapping turns it into which standard table, and on what schedule. The ingest DAGs are
generated from this list. The module imports nothing heavy: DAG files read it at parse time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.base import Source
    from schemas.mapping import Mapping


@dataclass(frozen=True)
class SourceSpec:
    """A department source system.

    Attributes:
        name: Registry name; also the DAG suffix and the ledger's source.
        department: Department code (``GA``, ``RS``, ``YB``, ``SC``, ``ZW``).
        title: What it is, in the department's words.
        conn_id: Airflow connection of the source endpoint.
        connector: Dotted path of the connector factory, ``module:function``; it is called with
            this spec and returns a :class:`connectors.base.Source`.
        mapping: Dotted path of the :class:`schemas.mapping.Mapping`, ``module:NAME``.
        table: Qualified name of the standard table fed.
        schedule: Airflow schedule.
        options: Connector settings (table, cursor columns, page size...), apart from logic.
        description: Markdown for the DAG's doc.
    """

    name: str
    department: str
    title: str
    conn_id: str
    connector: str
    mapping: str
    table: str
    schedule: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def dag_id(self) -> str:
        """The generated ingest DAG's id."""
        return f"ingest_{self.name}"

    def load_mapping(self) -> Mapping:
        """Import the declared mapping."""
        return _resolve(self.mapping)

    def build_connector(self) -> Source:
        """Build the connector from its factory and this spec."""
        return _resolve(self.connector)(self)


def _resolve(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        name="ga_population",
        department="GA",
        title="公安局 人口基本信息 (T_RK_JBXX)",
        conn_id="ga_population",
        connector="connectors.factories:sql_table",
        mapping="schemas.mappings.ga_population:MAPPING",
        table="shared.population",
        schedule="@hourly",
        options={"table": "T_RK_JBXX", "cursor_column": "GXSJ", "tiebreak_column": "GMSFHM"},
        description=(
            "Reads the 公安 population registry `T_RK_JBXX` incrementally on `GXSJ` (ties broken by "
            "`GMSFHM`), normalises identity numbers (GB 11643-1999, legacy 15-digit upgraded), and "
            "merges changed persons into `shared.population`; rejected rows go to quarantine."
        ),
    ),
    SourceSpec(
        name="rs_social_insurance",
        department="RS",
        title="人社局 社会保险参保信息 (REST API insured-persons)",
        conn_id="rs_social_insurance",
        connector="connectors.factories:rest_paged",
        mapping="schemas.mappings.rs_social_insurance:MAPPING",
        table="shared.social_insurance",
        schedule="@hourly",
        options={
            "path": "/api/v1/insured-persons",
            "token_path": "/api/v1/token",
            "optional_fields": ("sbkh", "fkrq"),
            "cursor_field": "gxsj",
            "tiebreak_field": "grbh",
            "key_field": "xzlx",
            "page_size": 1000,
        },
        description=(
            "Pages through the 人社 `insured-persons` API (bearer token from `/api/v1/token`, refreshed on "
            "401; 429/502/503 and timeouts retried with backoff honouring `Retry-After`) from the committed "
            "cursor (`gxsj`, then `grbh` and the `xzlx` already read), and merges enrolments, one row per "
            "person and insurance type, into `shared.social_insurance`; rejected rows go to quarantine."
        ),
    ),
)


def get(name: str) -> SourceSpec:
    """The source called ``name``.

    Raises:
        KeyError: with the known names, if there is none.
    """
    for spec in SOURCES:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown source {name!r}; known: {', '.join(s.name for s in SOURCES)}")
