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


# A scheduled run waits for the marker of its logical date; a run triggered by hand from the UI or
# REST API has no logical date (Airflow 3), so it waits for any complete delivery instead.
YB_DAY_MARKER = "YB_CBXX_{{ dag_run.logical_date.strftime('%Y%m%d') if dag_run.logical_date else '*' }}.ok"


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
        extra_tables: Further standard tables the load writes (derived in the same
            transaction, e.g. ``shared.service_case`` from its steps); also DAG outlets.
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
    extra_tables: tuple[str, ...] = ()

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
        connector="connectors.settings:sql_table",
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
        name="sc_market_entities",
        department="SC",
        title="市场监管局 市场主体登记信息 (T_SCZT_DJXX)",
        conn_id="sc_market_entities",
        connector="connectors.settings:sql_table",
        mapping="schemas.mappings.sc_market_entities:MAPPING",
        table="shared.market_entity",
        schedule="@hourly",
        options={"table": "T_SCZT_DJXX", "cursor_column": "GXSJ", "tiebreak_column": "TYSHXYDM"},
        description=(
            "Reads the 市场监管 registry `T_SCZT_DJXX` incrementally on `GXSJ` (ties broken by `TYSHXYDM`) "
            "into `shared.market_entity`, one row per USCC: of two versions of a code the latest GXSJ "
            "wins (the older is quarantined as superseded); a code failing GB 32100 is quarantined."
        ),
    ),
    SourceSpec(
        name="zw_cases",
        department="ZW",
        title="政务服务中心 办件过程信息 (T_BJ_GCXX)",
        conn_id="zw_cases",
        connector="connectors.settings:sql_table",
        mapping="schemas.mappings.zw_cases:MAPPING",
        table="shared.service_case_step",
        schedule="*/5 * * * *",
        options={"table": "T_BJ_GCXX", "cursor_column": "LSH", "tiebreak_column": "LSH", "cursor_type": "bigint"},
        extra_tables=("shared.service_case",),
        description=(
            "Reads the append-only step log `T_BJ_GCXX` of the 综合窗口 platform on `LSH` into "
            "`shared.service_case_step`, and in the same transaction re-derives `shared.service_case` "
            "for every case the batch touched from all of its known steps, so steps arriving out of "
            "order give the same case state as steps in order."
        ),
    ),
    SourceSpec(
        name="yb_medical_insurance",
        department="YB",
        title="医保局 参保信息 (daily file drop YB_CBXX_<YYYYMMDD>.csv)",
        conn_id="yb_medical_insurance",
        connector="connectors.settings:file_drop",
        mapping="schemas.mappings.yb_medical_insurance:MAPPING",
        table="shared.medical_insurance",
        schedule="@daily",
        options={"pattern": "YB_CBXX_*.csv", "wait_for": YB_DAY_MARKER},
        description=(
            "Waits (deferred, holding no worker slot) for the day's `.ok` marker in the 医保 inbox (a run "
            "triggered by hand, which has no logical date, waits for any `.ok`), then "
            "reads every complete `YB_CBXX_<YYYYMMDD>.csv` not read before (by SHA-256; a re-delivered "
            "file is recorded and skipped), GBK or UTF-8 with BOM, streamed; maps 参保信息 into "
            "`shared.medical_insurance` (the latest 变更时间 wins). Deliveries are listed in "
            "`hub.file_delivery`. The connection is an `fs` connection whose extra `path` is the inbox."
        ),
    ),
    SourceSpec(
        name="rs_social_insurance",
        department="RS",
        title="人社局 社会保险参保信息 (REST API insured-persons)",
        conn_id="rs_social_insurance",
        connector="connectors.settings:rest_paged",
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
