"""Builds the ``audit_checkpoint`` DAG (wiring only; the work is in :mod:`hub.access.checkpoint`)."""

from __future__ import annotations

from airflow.sdk import DAG, task

from hub.dag_builder import hub_dag
from hub.store.connection import connect

DAG_ID = "audit_checkpoint"


def build_audit_checkpoint_dag(module_doc: str | None) -> DAG:
    """Every 5 minutes: the SQL view reads join the audit chain, then its head is signed outside the store.

    Args:
        module_doc: The DAG file's docstring, used as ``doc_md``.
    """
    with hub_dag(DAG_ID, schedule="*/5 * * * *", doc=module_doc, tags=["ops", "audit"], retries=1) as dag:

        @task(task_id="checkpoint")
        def checkpoint() -> dict | None:
            """Sign the current head; return it (``None`` while the log is empty)."""
            # in the task: both import psycopg, +0.15 s CPU per DAG-file parse
            from hub.access import checkpoint as cp
            from hub.access.sqlreads import ingest

            with connect(autocommit=True) as conn:
                ingest(conn)  # the departments' SQL view reads join the chain before its head is signed
                written = cp.write(conn)
            return None if written is None else {"seq": written.seq, "hash": written.hash, "at": written.at}

        checkpoint()
    return dag
