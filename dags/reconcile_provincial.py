"""# Daily reconciliation (对账) with the provincial platform.

At 02:30 Asia/Shanghai, for the previous day and each kind (certificates, cases): the
platform's count and SM3 digest of the `key:version` lines it accepted are compared with what
the hub holds as delivered (records whose day the platform's answer left open are first booked
on the day its figures say). On a difference the day's delivered records are re-queued and
pushed again (the platform answers `DUPLICATE` for what it has and stores what it lost), then
the day is checked again; a difference left then fails the run and raises an alert
(`hub.reconciliation_alert`, shown by `hub status`). Every comparison is kept in
`hub.push_reconciliation`.
"""

from __future__ import annotations

from airflow.sdk import DAG, CronTriggerTimetable, task

from hub.dag_factory import DEFAULT_ARGS, START_DATE
from hub.deployment import PROVINCIAL_POOL

with DAG(
    dag_id="reconcile_provincial",
    schedule=CronTriggerTimetable("30 2 * * *", timezone="Asia/Shanghai"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["sharehub", "push", "province", "reconciliation"],
) as dag:

    @task(task_id="reconcile", pool=PROVINCIAL_POOL.name)
    def reconcile(dag_run=None) -> dict:
        """Compare yesterday per kind; re-queue on a difference."""
        from hub.push.tasks import reconcile_day, reconcile_task

        day = reconcile_day(dag_run.run_after if dag_run else None).isoformat()
        return {"day": day, "result": reconcile_task(day)}

    @task(task_id="push_requeued", pool=PROVINCIAL_POOL.name)
    def push_requeued(first: dict) -> dict:
        """Resend what was re-queued (nothing to do when every kind matched)."""
        from hub.push.tasks import push_task

        if all(e["matched"] for e in first["result"].values()):
            return {}
        return push_task()

    @task(task_id="recheck", pool=PROVINCIAL_POOL.name)
    def recheck(first: dict, _pushed: dict) -> dict:
        """Check the day again (no re-queue); a difference left fails the task and raises an alert."""
        from hub.push.tasks import reconcile_task

        if all(e["matched"] for e in first["result"].values()):
            return first["result"]
        return reconcile_task(first["day"], requeue=False)

    first = reconcile()
    recheck(first, push_requeued(first))
