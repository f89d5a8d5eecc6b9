"""Builds the ``quality_daily`` DAG (wiring only; the work is in :func:`hub.quality_tasks.daily_validation`)."""

from __future__ import annotations

from airflow.sdk import DAG, CronTriggerTimetable, task

from hub.dag_builder import hub_dag

DAG_ID = "quality_daily"
SCHEDULE = "30 2 * * *"
"""02:30 in Yinchuan: after the night's file drops, before the working day's queries."""
TIMEZONE = "Asia/Shanghai"


def build_quality_daily_dag(module_doc: str | None) -> DAG:
    """The DAG validating every standard table whole with GX once a day and rebuilding the Data Docs.

    Args:
        module_doc: The DAG file's docstring, used as ``doc_md``.
    """
    with hub_dag(
        DAG_ID, schedule=CronTriggerTimetable(SCHEDULE, timezone=TIMEZONE), doc=module_doc, tags=["quality"]
    ) as dag:

        @task(task_id="validate_all_tables")
        def validate_all_tables() -> dict:
            """Recompute the findings and run every table's whole-table suite; report failing suites."""
            from hub.quality_tasks import daily_validation  # in the task: GX and pyarrow stay out of DAG parsing

            return daily_validation()

        validate_all_tables()
    return dag
