"""Lineage of an ingest run: the department table it read and the shared tables it wrote.

The OpenLineage provider emits an event for every task; for the ingest task it takes the
datasets from Airflow's hook-lineage collector, filled here at run time from the source's
Airflow connection (so the event names the real department host, which the DAG file cannot
know at parse time) and the target table of the shared store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import Asset

if TYPE_CHECKING:
    from hub.registry import SourceSpec

STORE_NAMESPACE_HOST = "hub-store"


def table_asset(qualified_name: str) -> Asset:
    """The Airflow Asset of a shared-store table (``postgres://hub-store:5432/sharehub/<schema>/<table>``)."""
    schema, _, table = qualified_name.partition(".")
    return Asset(name=qualified_name, uri=f"postgres://hub-store:5432/sharehub/{schema}/{table}")


def record_ingest(spec: SourceSpec, task: object) -> None:
    """Add the source's dataset (if its connector kind names one) as input and the shared table as output."""
    from airflow.sdk.lineage import get_hook_lineage_collector

    # A fresh collector: tasks run in-process one after another (dag.test()) would otherwise
    # report every earlier task's datasets too. A worker runs each task in its own process.
    cache_clear = getattr(get_hook_lineage_collector, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()
    collector = get_hook_lineage_collector()
    source_uri = spec.connector.lineage_input(spec.conn_id)
    if source_uri:
        collector.add_input_asset(task, uri=source_uri)  # type: ignore[arg-type]
    for table in spec.tables:
        collector.add_output_asset(task, uri=table_asset(table).uri)  # type: ignore[arg-type]
