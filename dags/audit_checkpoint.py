"""# Audit checkpoint: sign the access audit chain's head, outside the store.

First the reads the departments' SQL views recorded are appended to the audit (`sql.read`).
Every 5 minutes the head of `access.audit` (sequence number + SM3 hash) is signed with
HMAC-SM3 under the key of the connection `audit_checkpoint` (not in the database) and appended
to `$HUB_HOME/audit/checkpoints.jsonl`. `hub audit verify` checks that every checkpoint still
matches the chain, so even the store's superuser cannot rewrite, cut or empty the audit
unnoticed up to the last checkpoint.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, task

from hub.dag_factory import DEFAULT_ARGS, START_DATE
from hub.store.connection import connect

with DAG(
    dag_id="audit_checkpoint",
    schedule="*/5 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1, "retry_delay": dt.timedelta(minutes=1)},
    doc_md=__doc__,
    tags=["sharehub", "ops", "audit"],
) as dag:

    @task(task_id="checkpoint")
    def checkpoint() -> dict | None:
        """Sign the current head; return it (``None`` while the log is empty)."""
        from hub.access import checkpoint as cp
        from hub.access.sqlreads import ingest

        with connect(autocommit=True) as conn:
            ingest(conn)  # the departments' SQL view reads join the chain before its head is signed
            written = cp.write(conn)
        return None if written is None else {"seq": written.seq, "hash": written.hash, "at": written.at}

    checkpoint()
