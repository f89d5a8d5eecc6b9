"""``shared.social_insurance`` (社会保险参保信息), from 人社局: one row per person and insurance type."""

from __future__ import annotations

from schemas.codes import ENROLMENT_STATUS, INSURANCE_TYPE_RS
from schemas.model import GB11643, DataType, Field, Info, PersonalClass, Sharing, Table

SOCIAL_INSURANCE = Table(
    schema="shared",
    name="social_insurance",
    code="640100-RS-0001",
    title="社会保险参保信息",
    provider="RS",
    summary="Enrolments in the pension, unemployment and work-injury insurances, one row per person and type.",
    update_cycle="hourly",
    sharing=Sharing.CONDITIONAL,
    fields=(
        Field(
            "person_no",
            DataType.TEXT,
            "个人编号",
            nullable=False,
            key=True,
            rules=("required", "text_hygiene"),
            length=50,
            carries=(Info.PERSON_NO,),
        ),
        Field(
            "insurance_type",
            DataType.TEXT,
            "险种类型",
            nullable=False,
            key=True,
            codes=INSURANCE_TYPE_RS,
            rules=("code_table",),
        ),
        Field(
            "id_number",
            DataType.TEXT,
            "身份证号码",
            nullable=False,
            personal=PersonalClass.IDENTIFIER,
            rules=("gb11643",),
            carries=(Info.ID_NUMBER,),
            layout=GB11643,
        ),
        Field(
            "name",
            DataType.TEXT,
            "姓名",
            nullable=False,
            personal=PersonalClass.NAME,
            rules=("text_hygiene",),
            length=50,
            carries=(Info.PERSON_NAME,),
        ),
        Field("status", DataType.TEXT, "参保状态", nullable=False, codes=ENROLMENT_STATUS, rules=("code_table",)),
        Field(
            "employer_no",
            DataType.TEXT,
            "单位编号",
            rules=("text_hygiene",),
            length=50,
            description="empty for 城乡居民",
        ),
        Field("employer_name", DataType.TEXT, "单位名称", rules=("text_hygiene",), length=200),
        Field("employer_uscc", DataType.TEXT, "单位统一社会信用代码", rules=("gb32100",)),
        Field("enrolled_on", DataType.DATE, "参保日期", nullable=False, rules=("date_range",)),
        Field(
            "contribution_base",
            DataType.DECIMAL,
            "缴费基数 (元)",
            precision=(12, 2),
            sharing=Sharing.CONDITIONAL,
            rules=("decimal_non_negative",),
        ),
        Field(
            "card_no",
            DataType.TEXT,
            "社会保障卡号",
            personal=PersonalClass.OTHER,
            rules=("text_hygiene",),
            length=50,
            carries=(Info.CARD_NO,),
        ),
        Field("card_issued_on", DataType.DATE, "发卡日期", carries=(Info.CARD_ISSUE_DATE,)),
        Field("source_updated_at", DataType.TIMESTAMP, "源系统更新时间", nullable=False),
    ),
)
