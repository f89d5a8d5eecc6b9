"""Connector factories named by the source registry: a spec in, a ready connector out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.connections import postgres_uri
from connectors.sql_table import SqlTableSource

if TYPE_CHECKING:
    from hub.registry import SourceSpec


def sql_table(spec: SourceSpec) -> SqlTableSource:
    """A :class:`SqlTableSource` on the spec's Airflow connection and options."""
    options = dict(spec.options)
    return SqlTableSource(name=spec.name, uri=postgres_uri(spec.conn_id), **options)
