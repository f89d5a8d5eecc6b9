"""# Freshness watch: is every source's newest load recent enough for its schedule?

Every 15 minutes this checks each source declared in `hub/registry.py`: the age of its newest
load (the cursor's last move, or the last succeeded batch) against its schedule (late after
`HUB_FRESHNESS_FACTOR`, default 2, schedule intervals). A late source gets a row in
`hub.freshness_alert` and a warning in this task's log; `hub status` shows it in red.

The ingest DAGs also carry an Airflow deadline alert that fires when a single run is not done
one schedule interval after it was queued.
"""

from __future__ import annotations

from airflow.sdk import DAG

from hub.ops.freshness_dag import build_watch_freshness_dag

dag: DAG = build_watch_freshness_dag(__doc__)
