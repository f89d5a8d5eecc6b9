"""``shared.service_efficiency`` (政务服务效能监管指标) and ``shared.service_bad_review`` (差评整改跟踪).

Computed by the hub from ``shared.service_case_step`` (see :mod:`hub.efficiency`), not loaded
from a department, so every department reads the same numbers. Definitions (all dates are local
dates in Asia/Shanghai; "working days in (a, b]" uses the calendar ``hub.working_calendar``):

* received / accepted / completed on a day: cases whose first 申请 / 受理 / 办结 step is on that day.
* due date: 受理 date (申请 date when there is no 受理 step) plus the promised working days; a case
  is on time when the working days in (受理, 办结] do not exceed the promise, so a case finished on
  its due day is on time. 按时办结率 = on-time / completed cases that carry a promise.
* overdue open (超期办件) on day D: accepted by D, neither completed nor ended (不予受理, 撤回) by D,
  and more working days in (受理, D] than promised; overdue working days = the excess.
* 全程网办: a completed case every step of which came through 网上 or 掌上;
  全程网办率 = such cases / cases completed that day.
* evaluations (好差评) count on the day of the step carrying the latest 满意度, and only for
  completed cases (evaluations of cases never completed are source dirt and are left out, as
  are values outside 1-5);
  满意率 = evaluations of 4 (满意) or 5 (非常满意) / all evaluations.
* 差评 (1-2) must be followed up within 15 working days of the evaluation: due = evaluation day
  plus 15 working days. A 差评 is overdue on day D when D is past the due day by working days and
  no follow-up was recorded on or before D.
"""

from __future__ import annotations

from schemas.model import DataType, Field, Sharing, Table

_GROUP = (
    Field("dept_code", DataType.TEXT, "受理部门代码", nullable=False, key=True),
    Field("item_code", DataType.TEXT, "事项编码", nullable=False, key=True),
)


def _count(name: str, title: str, description: str) -> Field:
    return Field(name, DataType.INTEGER, title, nullable=False, description=description)


def _rate(name: str, title: str, description: str) -> Field:
    return Field(name, DataType.DECIMAL, title, precision=(7, 4), description=description)


SERVICE_EFFICIENCY = Table(
    schema="shared",
    name="service_efficiency",
    code="640100-ZW-0101",
    title="政务服务效能监管指标",
    provider="ZW",
    summary="Daily efficiency indicators per department and service item, computed from case steps.",
    update_cycle="daily, and when case steps arrive",
    sharing=Sharing.UNCONDITIONAL,
    derived_from=("shared.service_case_step",),
    aggregated=True,  # counts and rates per department, item and day: no case's applicant in them
    order_by="stat_date",
    fields=(
        Field("stat_date", DataType.DATE, "统计日期", nullable=False, key=True),
        *_GROUP,
        Field("dept_name", DataType.TEXT, "受理部门名称", nullable=False),
        Field("item_name", DataType.TEXT, "事项名称", nullable=False),
        _count("received", "收件数", "cases whose 申请 step is on stat_date"),
        _count("accepted", "受理数", "cases whose 受理 step is on stat_date"),
        _count("completed", "办结数", "cases whose 办结 step is on stat_date"),
        _count("completed_with_promise", "有承诺时限的办结数", "completed cases that carry a promised time limit"),
        _count("completed_on_time", "按时办结数", "completed within the promised working days"),
        _rate("on_time_rate", "按时办结率", "completed_on_time / completed_with_promise; null when none"),
        _count("overdue_open", "超期办件数", "open cases past their due date at the end of stat_date"),
        _count("overdue_working_days", "超期工作日合计", "sum over overdue open cases of working days past due"),
        _count("overdue_max_working_days", "最长超期工作日", "largest working days past due; 0 when none"),
        _count("completed_online", "全程网办办结数", "completed cases whose every step was 网上 or 掌上"),
        _rate("online_rate", "全程网办率", "completed_online / completed; null when none"),
        _count("eval_5", "非常满意数", "evaluations of 5 on stat_date"),
        _count("eval_4", "满意数", "evaluations of 4"),
        _count("eval_3", "基本满意数", "evaluations of 3"),
        _count("eval_2", "不满意数", "evaluations of 2"),
        _count("eval_1", "非常不满意数", "evaluations of 1"),
        _count("evaluations", "评价数", "evaluations on stat_date"),
        _rate("satisfaction_rate", "满意率", "(eval_4 + eval_5) / evaluations; null when none"),
        _count("bad_reviews", "差评数", "evaluations of 1-2 on stat_date"),
        _count("bad_reviews_overdue", "差评超期未整改数", "差评 past their 15-working-day follow-up due at stat_date"),
    ),
)

SERVICE_BAD_REVIEW = Table(
    schema="shared",
    name="service_bad_review",
    code="640100-ZW-0102",
    title="差评整改跟踪",
    provider="ZW",
    summary="Every 差评 (1-2) with its 15-working-day follow-up due date and whether it is overdue.",
    update_cycle="daily, and when case steps arrive",
    sharing=Sharing.CONDITIONAL,
    derived_from=("shared.service_case_step",),
    order_by="evaluated_on",
    fields=(
        Field("case_no", DataType.TEXT, "申办流水号", nullable=False, key=True),
        Field("dept_code", DataType.TEXT, "受理部门代码", nullable=False),
        Field("dept_name", DataType.TEXT, "受理部门名称", nullable=False),
        Field("item_code", DataType.TEXT, "事项编码", nullable=False),
        Field("item_name", DataType.TEXT, "事项名称", nullable=False),
        Field("satisfaction", DataType.INTEGER, "满意度", nullable=False, description="1 or 2"),
        Field("evaluated_on", DataType.DATE, "评价日期", nullable=False),
        Field("followup_due", DataType.DATE, "整改期限", nullable=False, description="evaluated_on + 15 working days"),
        Field("followed_up_on", DataType.DATE, "整改日期", description="recorded with hub efficiency followup"),
        Field("as_of", DataType.DATE, "判定日期", nullable=False, description="the day the overdue flag refers to"),
        Field("followup_overdue", DataType.BOOLEAN, "整改超期", nullable=False),
    ),
)
