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

from airflow.sdk import DAG

from hub.push.dags import build_push_provincial_dag

dag: DAG = build_push_provincial_dag(__doc__)
