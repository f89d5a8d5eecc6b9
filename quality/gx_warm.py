"""GX kept warm in a task process: one in-memory context, built once, for the per-batch checks.

A batch's check used to open GX's file context, register its suite, validation definition and
Checkpoint in files, and update the Data Docs: about two CPU seconds of fixed cost for a batch
of a few rows. Here the context is ephemeral (nothing is written to the GX home), the store's
data source, each table asset and each batch suite are registered once per process, and a
check runs its :class:`great_expectations.ValidationDefinition` directly, without a Checkpoint.
The caller records the outcome itself (:mod:`quality.batch_quality`); the Data Docs are rebuilt
by the daily whole-table run (:func:`quality.gx_suites.run`), or on demand by ``hub quality check``.

The store URI reaches GX through an environment variable named after the URI's digest, so no
credential is written anywhere and two stores used in one process keep their own engines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import Any

from quality import gx_quiet, gx_suites
from schemas.model import Table

RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
"""Counts only: no unexpected values (identity numbers are personal data) in a result."""

_context: Any = None
_sources: dict[str, Any] = {}
_definitions: dict[tuple[str, str, str, str, dt.date], Any] = {}


def _uri_variable(uri: str) -> str:
    return "HUB_GX_STORE_" + hashlib.sha256(uri.encode()).hexdigest()[:12].upper()


def _source(uri: str) -> Any:
    """The store's PostgreSQL data source in the in-memory context (created on first use)."""
    global _context
    import great_expectations as gx

    if _context is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        with gx_quiet.quiet_logs():  # GX is imported now: its loggers that set their own INFO level are held too
            _context = gx.get_context(mode="ephemeral")
        gx_quiet.disable_progress_bars(_context)
    if uri not in _sources:
        variable = _uri_variable(uri)
        os.environ[variable] = gx_suites.sqlalchemy_uri(uri)
        name = f"{gx_suites.DATASOURCE}_{len(_sources)}"
        # the context outlives any one connection (a restarted server, a terminated backend): test each before use
        _sources[uri] = _context.data_sources.add_postgres(
            name, connection_string="${" + variable + "}", kwargs={"pool_pre_ping": True}
        )
    return _sources[uri]


def definition(uri: str, table: Table, schema: str, name: str, today: dt.date) -> Any:
    """The validation definition of ``table``'s batch suite (as of ``today``) on the table ``schema.name``.

    Built on first use in this process and reused after: the suite's expectations are derived
    from the declaration once, not per batch.

    Args:
        uri: The store (libpq URI).
        table: The declared table whose batch suite applies.
        schema: Schema of the table GX reads (the declared table, or the batch's scratch copy).
        name: Name of that table.
        today: Reference date for "not in the future" expectations (a new day gets a new suite).
    """
    import great_expectations as gx

    key = (uri, table.qualified_name, schema, name, today)
    if key not in _definitions:
        source = _source(uri)
        asset_name = f"{schema}.{name}"
        try:
            asset = source.get_asset(asset_name)
        except LookupError:
            asset = source.add_table_asset(asset_name, table_name=name, schema_name=schema)
        try:
            batch = asset.get_batch_definition("whole_table")
        except (KeyError, LookupError):
            batch = asset.add_batch_definition_whole_table("whole_table")
        suite = gx_suites.batch_suite_for(table, today)
        suite.name = f"{suite.name}@{today.isoformat()}"
        suite = _context.suites.add_or_update(suite)
        _definitions[key] = _context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{asset_name}:{suite.name}", data=batch, suite=suite)
        )
    return _definitions[key]


def validate(uri: str, table: Table, schema: str, name: str, today: dt.date) -> Any:
    """Run ``table``'s batch suite on every row of ``schema.name``; return GX's validation result."""
    return definition(uri, table, schema, name, today).run(result_format=RESULT_FORMAT)
