"""# Efficiency supervision (效能监管), recomputed daily and when case data lands.

Recomputes `shared.service_efficiency` (daily indicators per department and service item:
received, accepted, completed, 按时办结率, 超期办件, 全程网办率, 好差评 distribution and 满意率,
差评 past their follow-up due) and `shared.service_bad_review` (every 差评 with its
15-working-day follow-up due date).

Runs every day just after midnight (Asia/Shanghai) and whenever the 政务服务 case tables are
loaded (Airflow Assets `shared.service_case` and `shared.service_case_step`). Only the stat
dates touched by steps that arrived since the last run (late or out of order included) and
the new days are rewritten; a re-run changes nothing. Working days come from
`hub.working_calendar` (`hub calendar list`); definitions in
`schemas/tables/service_efficiency.py`.
"""

from __future__ import annotations

from airflow.sdk import DAG

from hub.efficiency.dag import build_efficiency_dag

dag: DAG = build_efficiency_dag(__doc__)
