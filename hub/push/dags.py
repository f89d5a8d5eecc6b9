"""Builds the provincial push DAGs: ``derive_certificates``, ``push_provincial``, ``reconcile_provincial``.

Wiring only; the work is in :mod:`hub.push.tasks`, imported in each task body so that parsing
the DAGs loads none of its modules.
"""

from __future__ import annotations

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, task

from hub.dag_builder import hub_dag
from hub.deployment import PROVINCIAL_POOL
from hub.push.assets import CASES_ASSET, CERTIFICATES_ASSET, SOURCE_ASSETS

TIMEZONE = "Asia/Shanghai"


def build_derive_certificates_dag(module_doc: str | None) -> DAG:
    """Derives certificate and case record versions (and their outbox rows) when their source tables change.

    Args:
        module_doc: The DAG file's docstring, used as ``doc_md``.
    """
    schedule = SOURCE_ASSETS[0] | SOURCE_ASSETS[1] | SOURCE_ASSETS[2]
    with hub_dag("derive_certificates", schedule=schedule, doc=module_doc, tags=["push", "province"]) as dag:

        @task(task_id="derive_certificates", outlets=[CERTIFICATES_ASSET])
        def derive_certificates(run_id: str | None = None) -> dict:
            """New certificate versions and their outbox rows."""
            from hub.push import tasks  # psycopg, pyarrow, SM2: loaded when the task runs, not at DAG parse

            return tasks.derive_certificates_task(run_id or "manual")

        @task(task_id="derive_cases", outlets=[CASES_ASSET])
        def derive_cases() -> dict:
            """New case record versions (outbox rows)."""
            from hub.push import tasks  # psycopg, pyarrow, SM2: loaded when the task runs, not at DAG parse

            return tasks.derive_cases_task()

        derive_certificates()
        derive_cases()
    return dag


def build_push_provincial_dag(module_doc: str | None) -> DAG:
    """Pushes the pending outbox every 5 minutes and whenever new versions were derived.

    Args:
        module_doc: The DAG file's docstring, used as ``doc_md``.
    """
    schedule = AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/5 * * * *", timezone=TIMEZONE),
        assets=(CERTIFICATES_ASSET | CASES_ASSET),
    )
    with hub_dag("push_provincial", schedule=schedule, doc=module_doc, tags=["push", "province"]) as dag:

        @task(task_id="push", pool=PROVINCIAL_POOL.name)
        def push() -> dict:
            """Send every pending record and record each result."""
            from hub.push import tasks  # psycopg, pyarrow, SM2: loaded when the task runs, not at DAG parse

            return tasks.push_task()

        push()
    return dag


def build_reconcile_provincial_dag(module_doc: str | None) -> DAG:
    """Reconciles yesterday with the platform at 02:30, re-pushes on a difference and checks again.

    Args:
        module_doc: The DAG file's docstring, used as ``doc_md``.
    """
    schedule = CronTriggerTimetable("30 2 * * *", timezone=TIMEZONE)
    tags = ["push", "province", "reconciliation"]
    with hub_dag("reconcile_provincial", schedule=schedule, doc=module_doc, tags=tags) as dag:

        @task(task_id="reconcile", pool=PROVINCIAL_POOL.name)
        def reconcile(dag_run=None) -> dict:
            """Compare yesterday per kind; re-queue on a difference."""
            from hub.push import tasks  # psycopg, pyarrow, SM2: loaded when the task runs, not at DAG parse

            day = tasks.reconcile_day(dag_run.run_after if dag_run else None).isoformat()
            return {"day": day, "result": tasks.reconcile_task(day)}

        @task(task_id="push_requeued", pool=PROVINCIAL_POOL.name)
        def push_requeued(first: dict) -> dict:
            """Resend what was re-queued (nothing to do when every kind matched)."""
            from hub.push import tasks  # psycopg, pyarrow, SM2: loaded when the task runs, not at DAG parse

            if all(e["matched"] for e in first["result"].values()):
                return {}
            return tasks.push_task()

        @task(task_id="recheck", pool=PROVINCIAL_POOL.name)
        def recheck(first: dict, _pushed: dict) -> dict:
            """Check the day again (no re-queue); a difference left fails the task and raises an alert."""
            from hub.push import tasks  # psycopg, pyarrow, SM2: loaded when the task runs, not at DAG parse

            if all(e["matched"] for e in first["result"].values()):
                return first["result"]
            return tasks.reconcile_task(first["day"], requeue=False)

        first = reconcile()
        recheck(first, push_requeued(first))
    return dag
