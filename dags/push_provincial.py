"""# Push certificates and case records to the provincial platform.

Every 5 minutes (Asia/Shanghai) and whenever new certificate or case versions were derived.
Pending `hub.push_outbox` rows are claimed (`FOR UPDATE SKIP LOCKED`) into batches of at most
500, signed with HMAC-SM3 and sent through the `provincial_platform` connection at no more than
20 requests a second (pool `provincial_platform` + the client's token bucket). `ACCEPTED` and
`DUPLICATE` are delivered; `REJECTED` records are parked with the platform's code until
`hub push retry`. A batch with an unknown outcome is resent with the same `batch_id`; a `401`
stops the run.
"""

from __future__ import annotations

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, task

from hub.dag_factory import DEFAULT_ARGS, START_DATE
from hub.deployment import PROVINCIAL_POOL
from hub.push.assets import CASES_ASSET, CERTIFICATES_ASSET

with DAG(
    dag_id="push_provincial",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/5 * * * *", timezone="Asia/Shanghai"),
        assets=(CERTIFICATES_ASSET | CASES_ASSET),
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["sharehub", "push", "province"],
) as dag:

    @task(task_id="push", pool=PROVINCIAL_POOL.name)
    def push() -> dict:
        """Send every pending record and record each result."""
        from hub.push.tasks import push_task

        return push_task()

    push()
