"""Connector factories named by the source registry: a spec in, a ready connector out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.connections import postgres_uri
from connectors.file_drop import LINEAGE_COLUMNS, FileDropSource, inbox_from_connection
from connectors.sql_table import SqlTableSource

if TYPE_CHECKING:
    from connectors.base import Source
    from hub.registry import SourceSpec


def sql_table(spec: SourceSpec) -> SqlTableSource:
    """A :class:`SqlTableSource` on the spec's Airflow connection and options."""
    options = dict(spec.options)
    return SqlTableSource(name=spec.name, uri=postgres_uri(spec.conn_id), **options)


def file_drop(spec: SourceSpec) -> FileDropSource:
    """A :class:`FileDropSource` on the inbox of the spec's ``fs`` connection.

    The declared header is the mapping's source columns (less the lineage the connector adds);
    the DAG-only option ``wait_for`` is not the connector's.
    """
    options = {k: v for k, v in spec.options.items() if k != "wait_for"}
    header = tuple(c for c in spec.load_mapping().source_columns if c not in LINEAGE_COLUMNS)
    return FileDropSource(name=spec.name, inbox=inbox_from_connection(spec.conn_id), columns=header, **options)


def rest_paged(spec: SourceSpec) -> Source:
    """A :class:`connectors.rest_paged.RestPagedSource` on the spec's Airflow connection (an HTTP API)."""
    from connectors.connections import ConnectionNotDefinedError, get_connection
    from connectors.rest_paged import build

    conn = get_connection(spec.conn_id)
    if conn is None:
        raise ConnectionNotDefinedError(
            f"Airflow connection {spec.conn_id!r} is not defined (set AIRFLOW_CONN_{spec.conn_id.upper()} "
            "or a secrets backend)"
        )
    # the fields to expect are the mapping's declared source columns, unless the options say otherwise
    options = {"fields": spec.load_mapping().source_columns} | dict(spec.options)
    return build(spec.name, conn, options)
