"""``shared.market_entity`` (市场主体登记信息), the legal-entity base resource from 市场监管局."""

from __future__ import annotations

from schemas.codes import ENTITY_STATUS, ENTITY_TYPE
from schemas.model import GB11643, DataType, Field, Info, PersonalClass, Sharing, Table

MARKET_ENTITY = Table(
    schema="shared",
    name="market_entity",
    code="640100-SC-0001",
    title="市场主体登记信息",
    provider="SC",
    summary="Registered market entities (enterprises, 个体工商户, cooperatives), one row per USCC; latest GXSJ wins.",
    update_cycle="hourly",
    sharing=Sharing.UNCONDITIONAL,
    fields=(
        Field("uscc", DataType.TEXT, "统一社会信用代码", nullable=False, key=True, rules=("gb32100",)),
        Field("name", DataType.TEXT, "市场主体名称", nullable=False, rules=("text_hygiene",), length=200),
        Field("entity_type", DataType.TEXT, "主体类型", nullable=False, codes=ENTITY_TYPE, rules=("code_table",)),
        Field(
            "legal_rep",
            DataType.TEXT,
            "法定代表人",
            personal=PersonalClass.NAME,
            rules=("text_hygiene",),
            length=50,
            carries=(Info.PERSON_NAME,),
        ),
        Field(
            "legal_rep_id",
            DataType.TEXT,
            "法定代表人证件号码",
            personal=PersonalClass.IDENTIFIER,
            sharing=Sharing.CONDITIONAL,
            description="checked as a cross-department finding, not a load rule",
            carries=(Info.ID_NUMBER,),
            layout=GB11643,
        ),
        Field(
            "registered_capital",
            DataType.DECIMAL,
            "注册资本 (万元)",
            precision=(18, 4),
            rules=("decimal_non_negative",),
            description="null for 个体工商户",
        ),
        Field("established_on", DataType.DATE, "成立日期", nullable=False, rules=("date_range",)),
        Field(
            "approved_on",
            DataType.DATE,
            "核准日期",
            nullable=False,
            rules=("date_not_future",),
            description="the business licence's issue date",
        ),
        Field("authority_name", DataType.TEXT, "登记机关", nullable=False, rules=("text_hygiene",), length=200),
        Field("authority_code", DataType.TEXT, "登记机关代码", nullable=False, rules=("gb32100",)),
        Field("status", DataType.TEXT, "登记状态", nullable=False, codes=ENTITY_STATUS, rules=("code_table",)),
        Field(
            "address",
            DataType.TEXT,
            "住所",
            personal=PersonalClass.ADDRESS,
            rules=("text_hygiene",),
            length=200,
            carries=(Info.ADDRESS,),
        ),
        Field("region_code", DataType.TEXT, "住所行政区划代码", rules=("gb_t_2260_city",)),
        Field("business_scope", DataType.TEXT, "经营范围", rules=("text_hygiene",), length=4000),
        Field("source_updated_at", DataType.TIMESTAMP, "源系统更新时间", nullable=False),
    ),
)
