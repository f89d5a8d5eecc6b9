"""``shared.service_case`` (办件信息) and ``shared.service_case_step`` (办件过程信息), from 政务服务中心.

Steps are the source's truth (append-only, ``T_BJ_GCXX``); a case's current state is derived
from all its steps, so steps arriving out of order give the same case as steps in order.
"""

from __future__ import annotations

from schemas.codes import APPLICANT_TYPE, CASE_RESULT, CASE_STATUS, CASE_STEP, CHANNEL
from schemas.model import GB11643, DataType, Field, Info, PersonalClass, Sharing, Table

SERVICE_CASE_STEP = Table(
    schema="shared",
    name="service_case_step",
    code="640100-ZW-0002",
    title="办件过程信息",
    provider="ZW",
    summary="Every step of every government-service case, as recorded by the 综合窗口 acceptance platform.",
    update_cycle="every 5 minutes",
    sharing=Sharing.CONDITIONAL,
    fields=(
        Field("step_no", DataType.INTEGER, "步骤流水号", nullable=False, key=True),
        Field("case_no", DataType.TEXT, "申办流水号", nullable=False, rules=("required", "text_hygiene"), length=50),
        Field("item_code", DataType.TEXT, "事项编码", nullable=False, rules=("text_hygiene",), length=50),
        Field("item_name", DataType.TEXT, "事项名称", nullable=False, rules=("text_hygiene",), length=200),
        Field(
            "applicant_type", DataType.TEXT, "申请人类型", nullable=False, codes=APPLICANT_TYPE, rules=("code_table",)
        ),
        Field(
            "applicant_name",
            DataType.TEXT,
            "申请人名称",
            personal=PersonalClass.NAME,
            rules=("text_hygiene",),
            length=200,
            carries=(Info.PERSON_NAME,),
        ),
        Field(
            "applicant_id",
            DataType.TEXT,
            "申请人证件号码",
            personal=PersonalClass.IDENTIFIER,
            description="identity number or USCC; a failing one is a finding, not a load error",
            carries=(Info.ID_NUMBER,),
            layout=GB11643,
        ),
        Field("dept_code", DataType.TEXT, "受理部门代码", nullable=False, rules=("gb32100",)),
        Field("dept_name", DataType.TEXT, "受理部门名称", nullable=False, rules=("text_hygiene",), length=200),
        Field("channel", DataType.TEXT, "渠道", nullable=False, codes=CHANNEL, rules=("code_table",)),
        Field("step", DataType.TEXT, "环节", nullable=False, codes=CASE_STEP, rules=("code_table",)),
        Field("step_at", DataType.TIMESTAMP, "环节时间", nullable=False),
        Field("promised_days", DataType.INTEGER, "承诺办结时限 (工作日)"),
        Field("result", DataType.TEXT, "办结结果", codes=CASE_RESULT, rules=("code_table",)),
        Field("satisfaction", DataType.INTEGER, "满意度", description="1-5 (好差评), may arrive after BJ"),
        Field("source_updated_at", DataType.TIMESTAMP, "源系统更新时间", nullable=False),
        Field(
            "quality_flags",
            DataType.TEXT,
            "质量标记",
            description="Comma-separated notes on repairs, e.g. legacy_id_upgraded",
        ),
    ),
    indexes=(("case_no",),),
)

SERVICE_CASE = Table(
    schema="shared",
    name="service_case",
    code="640100-ZW-0001",
    title="办件信息",
    provider="ZW",
    summary="One row per government-service case with its current state derived from its steps.",
    update_cycle="every 5 minutes",
    sharing=Sharing.CONDITIONAL,
    derived_from=("shared.service_case_step",),
    fields=(
        Field("case_no", DataType.TEXT, "申办流水号", nullable=False, key=True),
        Field("version", DataType.INTEGER, "版本", nullable=False, description="number of steps known; raised on each"),
        Field("item_code", DataType.TEXT, "事项编码", nullable=False),
        Field("item_name", DataType.TEXT, "事项名称", nullable=False),
        Field("applicant_type", DataType.TEXT, "申请人类型", nullable=False, codes=APPLICANT_TYPE),
        Field(
            "applicant_name",
            DataType.TEXT,
            "申请人名称",
            personal=PersonalClass.NAME,
            carries=(Info.PERSON_NAME,),
            derived_from=("shared.service_case_step.applicant_name",),
        ),
        Field(
            "applicant_id",
            DataType.TEXT,
            "申请人证件号码",
            personal=PersonalClass.IDENTIFIER,
            carries=(Info.ID_NUMBER,),
            layout=GB11643,
            derived_from=("shared.service_case_step.applicant_id",),
        ),
        Field("dept_code", DataType.TEXT, "受理部门代码", nullable=False),
        Field("dept_name", DataType.TEXT, "受理部门名称", nullable=False),
        Field("channel", DataType.TEXT, "渠道", nullable=False, codes=CHANNEL, description="channel of the SQ step"),
        Field("status", DataType.TEXT, "办件状态", nullable=False, codes=CASE_STATUS),
        Field("submitted_at", DataType.TIMESTAMP, "申请时间"),
        Field("accepted_at", DataType.TIMESTAMP, "受理时间"),
        Field("completed_at", DataType.TIMESTAMP, "办结时间"),
        Field("promised_days", DataType.INTEGER, "承诺办结时限 (工作日)"),
        Field("result", DataType.TEXT, "办理结果", codes=CASE_RESULT),
        Field("satisfaction", DataType.INTEGER, "满意度"),
        Field("last_step_no", DataType.INTEGER, "最后步骤流水号", nullable=False),
        Field("source_updated_at", DataType.TIMESTAMP, "源系统更新时间", nullable=False),
        Field("quality_flags", DataType.TEXT, "质量标记", description="the flags of the step the applicant comes from"),
    ),
)
