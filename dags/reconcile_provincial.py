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

from airflow.sdk import DAG

from hub.push.dags import build_reconcile_provincial_dag

dag: DAG = build_reconcile_provincial_dag(__doc__)
