"""Builds the ``efficiency`` DAG (wiring only; the work is in :mod:`hub.efficiency.compute`)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, task

from hub.dag_builder import hub_dag
from hub.ops.lineage import table_asset
from hub.store.connection import store_uri
from schemas.tables.service_efficiency import SERVICE_BAD_REVIEW, SERVICE_EFFICIENCY

DAG_ID = "efficiency"
SOURCE_TABLES = ("shared.service_case", "shared.service_case_step")
OUTPUT_TABLES = (SERVICE_EFFICIENCY.qualified_name, SERVICE_BAD_REVIEW.qualified_name)
TIMEZONE = "Asia/Shanghai"


def as_of_date(run_after: dt.datetime) -> dt.date:
    """The last stat date of a run: the local (Asia/Shanghai) date of the moment it runs for."""
    return run_after.astimezone(ZoneInfo(TIMEZONE)).date()


def build_efficiency_dag(module_doc: str | None) -> DAG:
    """The DAG recomputing the efficiency indicators, daily and whenever case data lands.

    Args:
        module_doc: The DAG file's docstring, used as ``doc_md``.
    """
    schedule = AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("5 0 * * *", timezone=TIMEZONE),
        assets=table_asset(SOURCE_TABLES[0]) | table_asset(SOURCE_TABLES[1]),
    )
    with hub_dag(DAG_ID, schedule=schedule, doc=module_doc, tags=["efficiency", "ZW"]) as dag:

        @task(task_id="recompute", outlets=[table_asset(t) for t in OUTPUT_TABLES])
        def recompute(run_id: str | None = None, dag_run: Any = None) -> dict:
            """Recompute the days touched by new steps and the days since the last run."""
            from hub.efficiency.compute import recompute as run  # in the task: psycopg stays out of DAG parsing

            assert run_id is not None and dag_run is not None
            return run(store_uri(), as_of_date(dag_run.run_after), batch_id=f"efficiency:{run_id}").to_json()

        recompute()
    return dag
