"""``shared.e_certificate`` (电子证照), derived by the hub: one row per certificate version.

营业执照 from ``shared.market_entity`` and 社会保障卡 from ``shared.social_insurance``, with
GB/T 36904 identifiers (GB/T 36901~36905-2018 core metadata) and the issuer's signature. A
certificate (series) keeps its identifier's type, issuer and serial; every change of its face
or status is a new version, delivered to the provincial platform.
"""

from __future__ import annotations

from schemas.model import GB11643, CodeTable, DataType, Field, Info, PersonalClass, Sharing, Table

CERTIFICATE_STATUS = CodeTable(
    "certificate_status", "证照状态", {"VALID": "有效", "REVOKED": "吊销", "CANCELLED": "注销"}
)
HOLDER_ID_TYPE = CodeTable("holder_id_type", "持证主体代码类型", {"111": "公民身份号码", "001": "统一社会信用代码"})

_LICENCE = "shared.market_entity"
_CARD = "shared.social_insurance"


def _from(licence: str | None, card: str | None) -> tuple[str, ...]:
    return tuple(f"{table}.{name}" for table, name in ((_LICENCE, licence), (_CARD, card)) if name is not None)


# Derived from 人社's 有条件 social-insurance cards as well as 市场监管's licences, so the resource is
# 有条件 as a whole: a card's identifier carries its holder's 个人编号 (the serial) and its dates the
# card's issue date, neither of which 人社 shares without a grant.
E_CERTIFICATE = Table(
    schema="shared",
    name="e_certificate",
    code="640100-HUB-0001",
    title="电子证照",
    provider="HUB",
    summary="Electronic certificates (营业执照, 社会保障卡) issued in the city, one row per certificate version.",
    update_cycle="on change of the source",
    sharing=Sharing.CONDITIONAL,
    derived_from=(_LICENCE, _CARD),
    order_by="version",
    fields=(
        Field(
            "certificate_id",
            DataType.TEXT,
            "证照标识",
            nullable=False,
            key=True,
            description="GB/T 36904; the serial is the USCC or the 个人编号",
            carries=(Info.PERSON_NO,),
            derived_from=_from("uscc", "person_no"),
        ),
        Field(
            "series",
            DataType.TEXT,
            "证照系列",
            nullable=False,
            description="identifier without version and check",
            carries=(Info.PERSON_NO,),
            derived_from=_from("uscc", "person_no"),
        ),
        Field("version", DataType.INTEGER, "版本", nullable=False),
        Field("type_code", DataType.TEXT, "证照类型代码", nullable=False),
        Field("type_name", DataType.TEXT, "证照名称", nullable=False),
        Field(
            "number",
            DataType.TEXT,
            "证照编号",
            nullable=False,
            personal=PersonalClass.OTHER,
            carries=(Info.CARD_NO,),
            derived_from=_from("uscc", "card_no"),
        ),
        Field(
            "holder_name",
            DataType.TEXT,
            "持证主体",
            nullable=False,
            personal=PersonalClass.NAME,
            carries=(Info.PERSON_NAME,),
            derived_from=_from("name", "name"),
        ),
        Field(
            "holder_id",
            DataType.TEXT,
            "持证主体代码",
            nullable=False,
            personal=PersonalClass.IDENTIFIER,
            sharing=Sharing.CONDITIONAL,
            carries=(Info.ID_NUMBER,),
            layout=GB11643,
            derived_from=_from("uscc", "id_number"),
        ),
        Field("holder_id_type", DataType.TEXT, "持证主体代码类型", nullable=False, codes=HOLDER_ID_TYPE),
        Field("issuer_name", DataType.TEXT, "颁发机构", nullable=False, derived_from=_from("authority_name", None)),
        Field("issuer_code", DataType.TEXT, "颁发机构代码", nullable=False, derived_from=_from("authority_code", None)),
        Field(
            "issue_date",
            DataType.DATE,
            "颁发日期",
            nullable=False,
            carries=(Info.CARD_ISSUE_DATE,),
            derived_from=_from("approved_on", "card_issued_on"),
        ),
        Field(
            "valid_from",
            DataType.DATE,
            "有效期起始",
            nullable=False,
            carries=(Info.CARD_ISSUE_DATE,),
            derived_from=_from("approved_on", "card_issued_on"),
        ),
        Field(
            "valid_to",
            DataType.DATE,
            "有效期截止",
            description="null = 长期; a card's is its issue date + 10 years - 1 day",
            carries=(Info.CARD_ISSUE_DATE,),
            derived_from=_from(None, "card_issued_on"),
        ),
        Field(
            "status",
            DataType.TEXT,
            "证照状态",
            nullable=False,
            codes=CERTIFICATE_STATUS,
            derived_from=_from("status", None),
        ),
        Field(
            "face",
            DataType.TEXT,
            "照面信息",
            nullable=False,
            personal=PersonalClass.OTHER,
            description="JSON",
            carries=(Info.PERSON_NAME, Info.ID_NUMBER, Info.ADDRESS, Info.CARD_NO, Info.CARD_ISSUE_DATE),
            derived_from=(
                *_from("name", "name"),
                *_from("legal_rep", "id_number"),
                *_from("address", "card_no"),
                *_from("business_scope", "card_issued_on"),
            ),
        ),
        Field("signature", DataType.TEXT, "签名", nullable=False, description="base64, over the canonical JSON"),
        Field("signature_scheme", DataType.TEXT, "签名算法", nullable=False),
        Field(
            "source_key",
            DataType.TEXT,
            "来源记录",
            nullable=False,
            personal=PersonalClass.OTHER,
            carries=(Info.PERSON_NO,),
            derived_from=_from("uscc", "person_no"),
        ),
    ),
)
