"""Lineage of an ingest run: the department table it read and the shared table it wrote.

The OpenLineage provider emits an event for every task; for the ingest task it takes the
datasets from Airflow's hook-lineage collector, filled here at run time from the source's
Airflow connection (so the event names the real department host, which the DAG file cannot
know at parse time) and the target table of the shared store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.registry import SourceSpec

STORE_NAMESPACE_HOST = "hub-store"


def _postgres_uri(conn_id: str, table: str, schema: str = "public") -> str | None:
    from connectors.connections import get_connection

    conn = get_connection(conn_id)
    if conn is None:
        return None
    host = conn.host or "localhost"
    if host.startswith("/"):  # a Unix socket: the database is on the hub's own machine
        host = "localhost"
    return f"postgres://{host}:{conn.port or 5432}/{conn.schema or 'postgres'}/{schema}/{table}"


def record_ingest(spec: SourceSpec, task: object) -> None:
    """Add the source table as input and the shared table as output of the running task."""
    from airflow.sdk.lineage import get_hook_lineage_collector

    from hub.dag_factory import table_asset

    # A fresh collector: tasks run in-process one after another (dag.test()) would otherwise
    # report every earlier task's datasets too. A worker runs each task in its own process.
    cache_clear = getattr(get_hook_lineage_collector, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()
    collector = get_hook_lineage_collector()
    source_table = spec.options.get("table")
    if source_table:
        uri = _postgres_uri(spec.conn_id, str(source_table))
        if uri:
            collector.add_input_asset(task, uri=uri)  # type: ignore[arg-type]
    collector.add_output_asset(task, uri=table_asset(spec.table).uri)  # type: ignore[arg-type]
