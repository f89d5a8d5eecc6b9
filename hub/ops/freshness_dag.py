"""Builds the ``watch_freshness`` DAG (wiring only; the work is in :func:`hub.ops.freshness.check_all`)."""

from __future__ import annotations

from airflow.sdk import DAG, task

from hub.dag_builder import hub_dag
from hub.ops.freshness import check_all
from hub.store.connection import store_uri

DAG_ID = "watch_freshness"


def build_watch_freshness_dag(module_doc: str | None) -> DAG:
    """Every 15 minutes: every source's freshness, with an alert for each late one.

    Args:
        module_doc: The DAG file's docstring, used as ``doc_md``.
    """
    with hub_dag(DAG_ID, schedule="*/15 * * * *", doc=module_doc, tags=["ops"], retries=1) as dag:

        @task(task_id="check_freshness")
        def check_freshness(run_id: str | None = None) -> list[dict]:
            """Alert for every late source; return every source's freshness."""
            return check_all(store_uri(), run_id)

        check_freshness()
    return dag
