"""Great Expectations suites derived from the table declarations, run against the store.

Nothing here is written per table: :func:`suite_for` walks a :class:`schemas.model.Table` and
turns what it declares into expectations:

* non-nullable field (and every lineage column) → ``ExpectColumnValuesToNotBeNull``;
* code table → ``ExpectColumnValuesToBeInSet``;
* business key → ``ExpectColumnValuesToBeUnique`` / ``ExpectCompoundColumnsToBeUnique``;
* each row rule → its expectations (:data:`RULE_EXPECTATIONS`): regexes for identifier formats,
  and for the check characters (which a regex cannot judge) an ``UnexpectedRowsExpectation``
  whose SQL computes GB 11643 / GB 32100 / GB 11714 from the same weights as the vectorised
  rules; date and decimal bounds; text hygiene as forbidden patterns.

:func:`run` validates every standard table through GX's PostgreSQL data source with one
Checkpoint whose ``UpdateDataDocsAction`` rebuilds the Data Docs under
``$HUB_HOME/quality/gx/uncommitted/data_docs/local_site``; the quality report is written next to
them, and the site is made self-contained (:mod:`quality.gx_offline`). One run at a time holds
the GX home (:mod:`quality.gx_lock`); GX runs quietly (:mod:`quality.gx_quiet`) and each suite
gets one summary line in the log. GX is imported only inside these functions (never when a DAG
file is parsed). The store URI reaches GX through an environment variable (``${HUB_GX_STORE}``),
so no credential is written into GX's configuration files.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quality import gx_lock, gx_offline, gx_quiet, report, report_html
from quality.rules import CITY_REGIONS, EARLIEST_DATE
from schemas.model import LINEAGE_FIELDS, Field, Table
from schemas.standards.identity import WEIGHTS as ID_WEIGHTS
from schemas.standards.uscc import ORG_WEIGHTS
from schemas.standards.uscc import WEIGHTS as USCC_WEIGHTS
from schemas.tables import TABLES

log = logging.getLogger(__name__)

_URI_VARIABLE = "HUB_GX_STORE"
DATASOURCE = "sharehub_store"
CHECKPOINT = "sharehub_standard_tables"
ID_NUMBER_REGEX = r"^[0-9]{17}[0-9X]$"
USCC_REGEX = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
REGION_REGEX = r"^[0-9]{6}$"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def gb11643_mismatch_sql(column: str) -> str:
    """SQL predicate: a well-formed identity number whose check character is wrong (GB 11643 weights)."""
    total = " + ".join(f"substr({column}, {i + 1}, 1)::int * {int(w)}" for i, w in enumerate(ID_WEIGHTS))
    expected = f"substr('10X98765432', (({total}) % 11) + 1, 1)"
    return f"({column} ~ '{ID_NUMBER_REGEX}' AND {expected} <> substr({column}, 18, 1))"


def gb32100_mismatch_sql(column: str) -> str:
    """SQL predicate: a well-formed USCC whose GB 32100 or embedded GB 11714 check character is wrong."""
    total = " + ".join(
        f"(strpos('{_USCC_ALPHABET}', substr({column}, {i + 1}, 1)) - 1) * {int(w)}" for i, w in enumerate(USCC_WEIGHTS)
    )
    org = " + ".join(
        f"(strpos('{_ORG_ALPHABET}', substr({column}, {i + 9}, 1)) - 1) * {int(w)}" for i, w in enumerate(ORG_WEIGHTS)
    )
    org_check = f"substr('0123456789X0', 11 - (({org}) % 11) + 1, 1)"
    return (
        f"({column} ~ '{USCC_REGEX}' AND (substr('{_USCC_ALPHABET}', ((31 - ({total}) % 31) % 31) + 1, 1) "
        f"<> substr({column}, 18, 1) OR {org_check} <> substr({column}, 17, 1)))"
    )


def _unexpected(where: str, description: str) -> Any:
    import great_expectations as gx

    escaped = where.replace("{", "{{").replace("}", "}}")  # GX str.format()s the query: regex braces are literal
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=f"SELECT * FROM {{batch}} WHERE {escaped}", description=description
    )


def _gb11643(f: Field, today: dt.date) -> list[Any]:
    import great_expectations as gx

    return [
        gx.expectations.ExpectColumnValuesToMatchRegex(column=f.name, regex=ID_NUMBER_REGEX),
        _unexpected(gb11643_mismatch_sql(f.name), f"{f.name}: GB 11643-1999 check character matches"),
    ]


def _gb32100(f: Field, today: dt.date) -> list[Any]:
    import great_expectations as gx

    return [
        gx.expectations.ExpectColumnValuesToMatchRegex(column=f.name, regex=USCC_REGEX),
        _unexpected(gb32100_mismatch_sql(f.name), f"{f.name}: GB 32100 / GB 11714 check characters match"),
    ]


def _region(f: Field, today: dt.date) -> list[Any]:
    import great_expectations as gx

    return [gx.expectations.ExpectColumnValuesToMatchRegex(column=f.name, regex=REGION_REGEX)]


def _city_region(f: Field, today: dt.date) -> list[Any]:
    known = ", ".join(f"'{c}'" for c in sorted(CITY_REGIONS))
    return [
        *_region(f, today),
        _unexpected(
            f"{f.name} LIKE '6401%' AND {f.name} NOT IN ({known})",
            f"{f.name}: a code inside 银川市 is one of its known district codes",
        ),
    ]


def _not_future(f: Field, today: dt.date) -> list[Any]:
    import great_expectations as gx

    return [gx.expectations.ExpectColumnValuesToBeBetween(column=f.name, max_value=today)]


def _date_range(f: Field, today: dt.date) -> list[Any]:
    import great_expectations as gx

    return [gx.expectations.ExpectColumnValuesToBeBetween(column=f.name, min_value=EARLIEST_DATE, max_value=today)]


def _non_negative(f: Field, today: dt.date) -> list[Any]:
    import great_expectations as gx

    digits, scale = f.precision
    return [gx.expectations.ExpectColumnValuesToBeBetween(column=f.name, min_value=0, max_value=10 ** (digits - scale))]


HYGIENE_REGEX = (
    r"[\x01-\x1f\x7f-\x9f\u2028\u2029"  # control characters
    r"\u200b-\u200d\u2060\ufeff"  # zero-width
    r"\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi controls
    r"\uff01-\uff5e\u3000]"  # full-width ASCII and the ideographic space
    r"|^\s|\s$"  # leading or trailing white space
)
"""PostgreSQL ARE spelling of every class :mod:`quality.rules`' text hygiene rejects (a stored text value
cannot hold NUL), as one pattern: the database runs one regex per value instead of five (the rules
name the class of each rejected row; this expectation counts the stored rows that would fail any)."""


def _text_hygiene(f: Field, today: dt.date) -> list[Any]:
    import great_expectations as gx

    expectations = [gx.expectations.ExpectColumnValuesToNotMatchRegex(column=f.name, regex=HYGIENE_REGEX)]
    if f.length is not None:
        expectations.append(gx.expectations.ExpectColumnValueLengthsToBeBetween(column=f.name, max_value=f.length))
    return expectations


def _none(f: Field, today: dt.date) -> list[Any]:
    return []


RULE_EXPECTATIONS: dict[str, Callable[[Field, dt.date], list[Any]]] = {
    "gb11643": _gb11643,
    "gb32100": _gb32100,
    "gb_t_2260": _region,
    "gb_t_2260_city": _city_region,
    "date_not_future": _not_future,
    "date_range": _date_range,
    "decimal_non_negative": _non_negative,
    "text_hygiene": _text_hygiene,
    "required": _none,  # covered by not-null below (empty strings never survive the mappings)
    "code_table": _none,  # covered by the value set below
}
"""Each row rule of :mod:`quality.rules` and the expectations that check it on stored data."""


def suite_for(table: Table, today: dt.date | None = None) -> Any:
    """Derive the GX expectation suite of a declared table.

    Raises:
        KeyError: if a field declares a rule with no expectation mapping (keeps the two in step).
    """
    import great_expectations as gx

    today = today or dt.date.today()
    expectations: list[Any] = []
    for f in (*table.fields, *LINEAGE_FIELDS):
        if not f.nullable or f.key or "required" in f.rules:
            expectations.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=f.name))
        if f.codes is not None:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeInSet(column=f.name, value_set=list(f.codes.codes))
            )
        for name in f.rules:
            if name not in RULE_EXPECTATIONS:
                raise KeyError(f"{table.qualified_name}.{f.name}: rule {name!r} has no GX expectation mapping")
            expectations.extend(RULE_EXPECTATIONS[name](f, today))
    return gx.ExpectationSuite(name=suite_name(table), expectations=[*expectations, key_expectation(table)])


def key_expectation(table: Table) -> Any:
    """The table-wide expectation of a suite: the business key is unique over the whole table."""
    import great_expectations as gx

    if len(table.key) == 1:
        return gx.expectations.ExpectColumnValuesToBeUnique(column=table.key[0])
    return gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=list(table.key))


def batch_suite_for(table: Table, today: dt.date | None = None) -> Any:
    """The suite of one batch's rows: every row-level expectation of :func:`suite_for`, without the key's uniqueness.

    Uniqueness needs the whole table; :mod:`quality.batch_quality` has the database judge it instead.
    """
    import great_expectations as gx

    whole = suite_for(table, today)
    key = label(key_expectation(table).configuration)
    rows = [e for e in whole.expectations if label(e.configuration) != key]
    return gx.ExpectationSuite(name=batch_suite_name(table), expectations=rows)


def label(config: Any) -> str:
    """How an expectation is named in results: its description, else ``type(column)``."""
    return config.description or f"{config.type}({config.kwargs.get('column', '')})"


def suite_name(table: Table) -> str:
    """The GX suite name of a table (``shared.population`` → ``shared.population``)."""
    return table.qualified_name


def batch_suite_name(table: Table) -> str:
    """The GX suite name of one batch's rows of a table (``shared.population.batch``)."""
    return table.qualified_name + ".batch"


def gx_root(home: Path) -> Path:
    """Where the GX project (config, results, Data Docs) lives: ``<home>/quality`` (the hub passes ``$HUB_HOME``)."""
    return home / "quality"


def docs_dir(home: Path) -> Path:
    """The Data Docs site under ``home``: ``index.html``, a page per suite and validation, ``quality_report.html``."""
    return gx_root(home) / "gx" / "uncommitted" / "data_docs" / "local_site"


@dataclass(frozen=True)
class SuiteResult:
    """The outcome of one table's suite."""

    table: str
    success: bool
    evaluated: int
    failed: list[str]
    rows: int | None
    """Rows the suite validated (``None`` if no expectation reported a count)."""
    unexpected: dict[str, int] = field(default_factory=dict)
    """Unexpected (failing) rows per expectation :func:`identity`, for every expectation that reported a count."""


@dataclass(frozen=True)
class GxRun:
    """One checkpoint run over all standard tables."""

    success: bool
    suites: list[SuiteResult]
    docs_index: Path
    report_page: Path


def _link_report(index: Path, page: str) -> None:
    """Put a link to the quality report at the top of the Data Docs index (GX rewrites the index on each build)."""
    if not index.exists():
        return
    html = index.read_text(encoding="utf-8")
    if page not in html and "<body" in html:
        head, _, rest = html.partition("<body")
        tag, _, body = rest.partition(">")
        link = f'<p style="margin:1em"><a href="{page}">ShareHub quality report (per run, per day, trend)</a></p>'
        index.write_text(f"{head}<body{tag}>{link}{body}", encoding="utf-8")


def sqlalchemy_uri(uri: str) -> str:
    """The store's libpq URI as SQLAlchemy spells it for GX (psycopg2 dialect)."""
    return uri.replace("postgresql://", "postgresql+psycopg2://", 1) if uri.startswith("postgresql://") else uri


def run(uri: str, tables: list[Table] | None = None, *, home: Path, today: dt.date | None = None) -> GxRun:
    """Validate the standard tables in the store with one Checkpoint and update the Data Docs.

    Holds the GX home's inter-process lock throughout: quality checks running at once (on several
    workers sharing the GX home) take turns instead of corrupting the file context or Data Docs.

    Args:
        uri: The shared store (libpq URI).
        tables: The tables to validate (default: every declared standard table).
        home: The hub's home; the GX project is under it (:func:`gx_root`).
        today: Reference date for "not in the future" expectations.

    Returns:
        Per-suite outcomes and where the Data Docs and the quality report page are.
    """
    point_gx_at(uri)
    root = gx_root(home)
    with gx_lock.locked(root), gx_quiet.quiet_logs():
        result = _run_locked(uri, home, tables, today)
    for suite in result.suites:
        log.info(
            "GX suite %s: %d expectations evaluated, %d failed, %s rows",
            suite.table,
            suite.evaluated,
            len(suite.failed),
            "?" if suite.rows is None else f"{suite.rows:,}",
        )
    return result


def suite_result(validation: Any, table: str | None = None) -> SuiteResult:
    """One suite's outcome from a GX validation result (``table`` defaults to the suite's name)."""
    return SuiteResult(
        table=table or validation.suite_name,
        success=bool(validation.success),
        evaluated=len(validation.results),
        failed=[label(r.expectation_config) for r in validation.results if not r.success],
        rows=_rows(validation.results),
        unexpected={
            identity(r.expectation_config): n for r in validation.results if (n := _unexpected_count(r)) is not None
        },
    )


def identity(config: Any) -> str:
    """An expectation's identity across runs: its type and arguments (two regexes on one column differ)."""
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "result_format")}
    return f"{config.type} {json.dumps(kwargs, sort_keys=True, default=str, ensure_ascii=False)}"


def _unexpected_count(result: Any) -> int | None:
    """How many rows failed an expectation (an unexpected-rows query reports its count as the observed value)."""
    counted = result.result.get("unexpected_count")
    if counted is None and result.expectation_config.type == "unexpected_rows_expectation":
        counted = result.result.get("observed_value")
    return counted if isinstance(counted, int) else None


def _rows(results: list[Any]) -> int | None:
    counts = [r.result["element_count"] for r in results if isinstance(r.result.get("element_count"), int)]
    return max(counts) if counts else None


def open_context(root: Path) -> tuple[Any, Any]:
    """The GX file context in ``root`` and its PostgreSQL data source (added on first use).

    Call with the GX home locked (:mod:`quality.gx_lock`) and ``$HUB_GX_STORE`` set (see :func:`run`).
    """
    import great_expectations as gx

    log.debug("GX home %s: opening the context", root)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    gx_quiet.disable_progress_bars(context)
    try:
        source = context.data_sources.get(DATASOURCE)
    except KeyError:
        source = context.data_sources.add_postgres(DATASOURCE, connection_string="${" + _URI_VARIABLE + "}")
    return context, source


def whole_table_batch(source: Any, asset_name: str, schema: str, name: str) -> Any:
    """The ``whole_table`` batch definition of a table asset of ``source`` (both added on first use)."""
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_table_asset(asset_name, table_name=name, schema_name=schema)
    try:
        return asset.get_batch_definition("whole_table")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_table("whole_table")


def point_gx_at(uri: str) -> None:
    """Hand the store URI to GX through ``$HUB_GX_STORE`` (never written into GX's files); analytics off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ[_URI_VARIABLE] = sqlalchemy_uri(uri)


def _run_locked(uri: str, home: Path, tables: list[Table] | None, today: dt.date | None) -> GxRun:
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    root = gx_root(home)
    tables = tables or list(TABLES.values())
    checkpoint_name = CHECKPOINT if len(tables) == len(TABLES) else CHECKPOINT + "_" + "_".join(t.name for t in tables)
    context, source = open_context(root)
    definitions = {}
    for table in TABLES.values():  # every table keeps its asset, suite and definition, even if not run now
        batch = whole_table_batch(source, table.qualified_name, table.schema, table.name)
        suite = context.suites.add_or_update(suite_for(table, today))
        definitions[table.qualified_name] = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=table.qualified_name, data=batch, suite=suite)
        )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=checkpoint_name,
            validation_definitions=[definitions[t.qualified_name] for t in tables],
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            # counts only: no unexpected values (identity numbers are personal data) in results or Data Docs
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 0},
        )
    )
    result = checkpoint.run()
    context.build_data_docs()  # the action rebuilt only what this run touched: list every table's suite
    suites = [suite_result(validation) for validation in result.run_results.values()]
    page = finish_docs(uri, home=home)
    log.debug("GX home %s: Data Docs updated", root)
    return GxRun(
        success=bool(result.success), suites=suites, docs_index=docs_dir(home) / "index.html", report_page=page
    )


def finish_docs(uri: str, *, home: Path, since: float | None = None) -> Path:
    """Write the quality report next to the Data Docs, link it from the index, make the site offline.

    Args:
        uri: The store.
        home: The hub's home the Data Docs are under (:func:`docs_dir`).
        since: Only pages written from this time on need rewriting (see :func:`quality.gx_offline.make_offline`).

    Returns:
        The report page.
    """
    docs = docs_dir(home)
    page = report_html.write(report.build(uri), docs)
    _link_report(docs / "index.html", page.name)
    gx_offline.make_offline(docs, since)
    return page
