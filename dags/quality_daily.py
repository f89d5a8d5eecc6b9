"""# Daily whole-table data quality (Great Expectations), an Airflow DAG.

Each ingest run's `quality_check` validates only the rows its batch wrote (the key's uniqueness
judged by the database), so its cost follows the batch, not the table. Once a day this DAG runs
every standard table's whole suite (derived from `schemas/tables/*`) over the whole table,
recomputes the cross-department findings and rebuilds the Data Docs with the quality report
(`$HUB_HOME/quality/gx/uncommitted/data_docs/local_site/index.html`). A failing suite is
reported in the task's result and log; the rows are loaded already, so it does not fail the run.
"""

from __future__ import annotations

from airflow.sdk import DAG

from hub.quality_dag import build_quality_daily_dag

dag: DAG = build_quality_daily_dag(__doc__)
