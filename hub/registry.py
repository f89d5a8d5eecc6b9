"""The source registry: the one place a source system is declared.

A source is one :class:`SourceSpec` here plus its mapping, ``schemas/mappings/<name>.py``
(``MAPPING``). The spec says where the source lives (an Airflow connection), how to read it
(typed connector settings, :mod:`connectors.settings`), what the DAG waits for first (sensor),
which batch gates apply and on what schedule; the ingest DAGs, status rows, freshness checks,
lineage and the deployment's connections are generated from this list.

The module imports nothing heavy: DAG files read it at parse time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.settings import ConnectorSettings, FileDrop, RestPaged, SqlTable
from quality.gates import GateConfig

if TYPE_CHECKING:
    from connectors.base import Source
    from schemas.mapping import Mapping


# A scheduled run waits for the marker of its logical date; a run triggered by hand from the UI or
# REST API has no logical date (Airflow 3), so it waits for any complete delivery instead.
YB_DAY_MARKER = "YB_CBXX_{{ dag_run.logical_date.strftime('%Y%m%d') if dag_run.logical_date else '*' }}.ok"


class DeclarationError(ValueError):
    """A source declaration contradicts itself or its mapping."""


@dataclass(frozen=True)
class WaitForFile:
    """Sensor: before reading, wait (deferred, holding no worker slot) for a file of the source's inbox.

    Attributes:
        path: Path relative to the ``path`` of the source's ``fs`` connection; templated, glob
            allowed (e.g. the day's ``.ok`` marker).
    """

    path: str


@dataclass(frozen=True, kw_only=True)
class SourceSpec:
    """A department source system.

    Attributes:
        name: Registry name; also the DAG suffix, the ledger's source and the mapping module's name.
        department: Department code (``GA``, ``RS``, ``YB``, ``SC``, ``ZW``).
        title: What it is, in the department's words.
        connector: The connector kind and its settings.
        table: Qualified name of the standard table fed: the mapping's table, repeated here because
            DAG files read it at parse time and importing the mappings (pyarrow, numpy) would add
            about 0.35 s to each 2.5 s parse (``python -X importtime``, 2026-11-29).
            :meth:`load_mapping` and ``tests/hub/test_sources.py`` check that the two agree.
        schedule: Airflow schedule.
        conn_id: Airflow connection of the source endpoint; the name when not given.
        mapping: Dotted path of the :class:`schemas.mapping.Mapping`, ``module:NAME``;
            ``schemas.mappings.<name>:MAPPING`` when not given.
        sensor: What the DAG waits for before reading, if anything.
        gates: The batch gates (:mod:`quality.gates`); defaults when not given.
        description: Markdown for the DAG's doc.
        extra_tables: Further standard tables the load writes (the mapping's derived tables, e.g.
            ``shared.service_case`` from its steps); also DAG outlets. Checked like ``table``.
    """

    name: str
    department: str
    title: str
    connector: ConnectorSettings
    table: str
    schedule: str
    conn_id: str = ""
    mapping: str = ""
    sensor: WaitForFile | None = None
    gates: GateConfig = field(default_factory=GateConfig)
    description: str = ""
    extra_tables: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.conn_id:
            object.__setattr__(self, "conn_id", self.name)
        if not self.mapping:
            object.__setattr__(self, "mapping", f"schemas.mappings.{self.name}:MAPPING")
        if not isinstance(self.connector, SqlTable | FileDrop | RestPaged):
            raise DeclarationError(f"source {self.name}: connector {self.connector!r} is not a connector kind")
        if isinstance(self.sensor, WaitForFile) and not isinstance(self.connector, FileDrop):
            raise DeclarationError(f"source {self.name}: a WaitForFile sensor needs a FileDrop connector (an inbox)")

    @property
    def dag_id(self) -> str:
        """The generated ingest DAG's id."""
        return f"ingest_{self.name}"

    @property
    def tables(self) -> tuple[str, ...]:
        """Every standard table the source's load writes: its table, then the derived ones."""
        return (self.table, *self.extra_tables)

    def load_mapping(self) -> Mapping:
        """Import the declared mapping, checked against this declaration.

        Raises:
            DeclarationError: if the mapping is another source's, or feeds other tables than declared.
        """
        mapping = _resolve(self.mapping)
        fed = (mapping.table.qualified_name, *(d.table.qualified_name for d in mapping.derived))
        if mapping.source != self.name:
            raise DeclarationError(f"source {self.name}: mapping {self.mapping} is declared for {mapping.source!r}")
        if fed != self.tables:
            raise DeclarationError(
                f"source {self.name}: declared tables {', '.join(self.tables)} but mapping {self.mapping} "
                f"feeds {', '.join(fed)}"
            )
        return mapping

    def build_connector(self) -> Source:
        """Build the connector from its settings, this spec's connection and the mapping's source columns."""
        return self.connector.build(self.name, self.conn_id, self.load_mapping().source_columns)


def _resolve(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        name="ga_population",
        department="GA",
        title="公安局 人口基本信息 (T_RK_JBXX)",
        connector=SqlTable(table="T_RK_JBXX", cursor_column="GXSJ", tiebreak_column="GMSFHM"),
        table="shared.population",
        schedule="@hourly",
        # 公安 sends ~1.5% dirt (departments.md); five times that means something broke at the source.
        gates=GateConfig(max_quarantine_rate=0.08),
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
        connector=SqlTable(table="T_SCZT_DJXX", cursor_column="GXSJ", tiebreak_column="TYSHXYDM"),
        table="shared.market_entity",
        schedule="@hourly",
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
        connector=SqlTable(table="T_BJ_GCXX", cursor_column="LSH", tiebreak_column="LSH", cursor_type="bigint"),
        table="shared.service_case_step",
        schedule="*/5 * * * *",
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
        connector=FileDrop(pattern="YB_CBXX_*.csv"),
        sensor=WaitForFile(path=YB_DAY_MARKER),
        table="shared.medical_insurance",
        schedule="@daily",
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
        connector=RestPaged(
            path="/api/v1/insured-persons",
            token_path="/api/v1/token",
            optional_fields=("sbkh", "fkrq"),
            cursor_field="gxsj",
            tiebreak_field="grbh",
            key_field="xzlx",
            page_size=1000,
        ),
        table="shared.social_insurance",
        schedule="@hourly",
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
