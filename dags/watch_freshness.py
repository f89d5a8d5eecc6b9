"""# Freshness watch: is every source's newest load recent enough for its schedule?

Every 15 minutes this checks each source declared in `hub/registry.py`: the age of its newest
load (the cursor's last move, or the last succeeded batch) against its schedule (late after
`HUB_FRESHNESS_FACTOR`, default 2, schedule intervals). A late source gets a row in
`hub.freshness_alert` and a warning in this task's log; `hub status` shows it in red.

The ingest DAGs also carry an Airflow deadline alert that fires when a single run is not done
one schedule interval after it was queued.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, task

from hub.dag_factory import DEFAULT_ARGS, START_DATE

with DAG(
    dag_id="watch_freshness",
    schedule="*/15 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1, "retry_delay": dt.timedelta(minutes=1)},
    doc_md=__doc__,
    tags=["sharehub", "ops"],
) as dag:

    @task(task_id="check_freshness")
    def check_freshness(run_id: str | None = None) -> list[dict]:
        """Alert for every late source; return every source's freshness."""
        from hub.ops.freshness import check_all
        from hub.store.connection import store_uri

        return check_all(store_uri(), run_id)

    check_freshness()
