"""``shared.population`` (人口基础信息), the city's population base resource."""

from __future__ import annotations

from schemas.codes import ETHNICITY, GENDER, PERSON_STATUS
from schemas.model import GB11643, DataType, Field, Info, PersonalClass, Sharing, Table

POPULATION = Table(
    schema="shared",
    name="population",
    code="640100-GA-0001",
    title="人口基础信息",
    provider="GA",
    summary="Residents registered with the 公安 population registry, one row per person.",
    update_cycle="hourly",
    sharing=Sharing.UNCONDITIONAL,
    fields=(
        Field(
            "id_number",
            DataType.TEXT,
            "公民身份号码",
            nullable=False,
            key=True,
            personal=PersonalClass.IDENTIFIER,
            rules=("gb11643",),
            description="18 characters, upper-case, half-width (GB 11643-1999)",
            carries=(Info.ID_NUMBER,),
            layout=GB11643,
        ),
        Field(
            "name",
            DataType.TEXT,
            "姓名",
            nullable=False,
            personal=PersonalClass.NAME,
            rules=("required", "text_hygiene"),
            length=50,
            carries=(Info.PERSON_NAME,),
        ),
        Field(
            "gender", DataType.TEXT, "性别", nullable=False, codes=GENDER, rules=("code_table",), carries=(Info.SEX,)
        ),
        Field("ethnicity", DataType.TEXT, "民族", codes=ETHNICITY, rules=("code_table",)),
        Field(
            "birth_date",
            DataType.DATE,
            "出生日期",
            nullable=False,
            rules=("date_range",),
            # positions 7-14 of the identity number, the part its mask hides: it travels with the identifier
            sharing=Sharing.CONDITIONAL,
            carries=(Info.BIRTH_DATE, Info.BIRTH_YEAR),
            description="有条件: with the masked identity number it would give the full number back",
        ),
        Field(
            "region_code",
            DataType.TEXT,
            "户籍地行政区划代码",
            nullable=False,
            rules=("gb_t_2260_city",),
            carries=(Info.REGION,),
        ),
        Field(
            "address",
            DataType.TEXT,
            "户籍地详细地址",
            personal=PersonalClass.ADDRESS,
            rules=("text_hygiene",),
            length=200,
            carries=(Info.ADDRESS,),
        ),
        Field(
            "phone",
            DataType.TEXT,
            "联系电话",
            personal=PersonalClass.PHONE,
            sharing=Sharing.CONDITIONAL,
            rules=("text_hygiene",),
            length=20,
            carries=(Info.PHONE,),
        ),
        Field("status", DataType.TEXT, "人员状态", nullable=False, codes=PERSON_STATUS, rules=("code_table",)),
        Field("source_updated_at", DataType.TIMESTAMP, "源系统更新时间", nullable=False),
        Field(
            "quality_flags",
            DataType.TEXT,
            "质量标记",
            description="Comma-separated notes on repairs, e.g. legacy_id_upgraded",
        ),
    ),
)
