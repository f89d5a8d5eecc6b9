"""``shared.medical_insurance`` (医疗保险参保信息), from 医保局's daily file drop."""

from __future__ import annotations

from schemas.codes import ENROLMENT_STATUS, INSURANCE_TYPE_YB
from schemas.model import GB11643, DataType, Field, Info, PersonalClass, Sharing, Table

MEDICAL_INSURANCE = Table(
    schema="shared",
    name="medical_insurance",
    code="640100-YB-0001",
    title="医疗保险参保信息",
    provider="YB",
    summary="Enrolments in the employee and resident basic medical insurances, one row per person and type.",
    update_cycle="daily",
    sharing=Sharing.CONDITIONAL,
    fields=(
        Field(
            "person_no",
            DataType.TEXT,
            "人员编号",
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
            codes=INSURANCE_TYPE_YB,
            rules=("code_table",),
        ),
        Field(
            "id_number",
            DataType.TEXT,
            "身份证号",
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
        Field("employer_uscc", DataType.TEXT, "参保单位代码", rules=("gb32100",)),
        Field("employer_name", DataType.TEXT, "参保单位名称", rules=("text_hygiene",), length=200),
        Field("enrolled_on", DataType.DATE, "参保日期", nullable=False, rules=("date_range",)),
        Field("source_file", DataType.TEXT, "来源文件", description="YB_CBXX_<YYYYMMDD>.csv that delivered it"),
        Field("source_updated_at", DataType.TIMESTAMP, "变更时间", nullable=False),
    ),
)
