"""Code tables from the national standards and the departments' documented enums."""

from __future__ import annotations

from schemas.model import CodeTable

GENDER = CodeTable(
    "gb_t_2261_1",
    "性别代码 GB/T 2261.1",
    {"0": "未知的性别", "1": "男", "2": "女", "9": "未说明的性别"},
)

_ETHNIC_NAMES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 "
    "黎族 傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 "
    "毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 "
    "独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族"
).split()

ETHNICITY = CodeTable(
    "gb_t_3304",
    "民族代码 GB/T 3304",
    {f"{i:02d}": name for i, name in enumerate(_ETHNIC_NAMES, start=1)} | {"97": "其他", "98": "外国血统中国籍人士"},
)

PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}
"""GB/T 2260 province-level prefixes: a region code must start with one of them."""

CITY_CODE = "640100"
CITY_DISTRICTS: dict[str, str] = {
    "640104": "兴庆区",
    "640105": "西夏区",
    "640106": "金凤区",
    "640121": "永宁县",
    "640122": "贺兰县",
    "640181": "灵武市",
}
"""银川市 and its counties/districts (GB/T 2260)."""

PERSON_STATUS = CodeTable(
    "person_status",
    "人员状态 (公安 RYZT)",
    {
        "NORMAL": "正常 (RYZT 0)",
        "DECEASED": "死亡 (RYZT 1)",
        "MOVED_OUT": "迁出 (RYZT 2)",
        "CANCELLED": "注销 (RYZT 3)",
    },
)
PERSON_STATUS_FROM_RYZT: dict[str, str] = {"0": "NORMAL", "1": "DECEASED", "2": "MOVED_OUT", "3": "CANCELLED"}

INSURANCE_TYPE_RS = CodeTable(
    "rs_xzlx",
    "险种类型 (人社)",
    {
        "110": "企业职工基本养老保险",
        "120": "机关事业单位养老保险",
        "170": "城乡居民基本养老保险",
        "210": "失业保险",
        "410": "工伤保险",
    },
)
INSURANCE_TYPE_YB = CodeTable("yb_xzlx", "险种类型 (医保)", {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"})
ENROLMENT_STATUS = CodeTable(
    "enrolment_status",
    "参保状态 (人社 cbzt 1/2/3, 医保 1/2/4)",
    {"ACTIVE": "参保缴费 / 参保", "SUSPENDED": "暂停缴费 / 暂停", "TERMINATED": "终止参保 / 终止"},
)
ENTITY_TYPE = CodeTable(
    "sc_ztlx",
    "主体类型 (市场监管 ZTLX)",
    {
        "1100": "有限责任公司",
        "1200": "股份有限公司",
        "4000": "个人独资企业",
        "5000": "合伙企业",
        "9100": "个体工商户",
        "9300": "农民专业合作社",
    },
)
ENTITY_STATUS = CodeTable(
    "entity_status",
    "登记状态 (市场监管 DJZT)",
    {"ACTIVE": "存续 (1)", "REVOKED": "吊销 (2)", "CANCELLED": "注销 (3)", "MOVED_OUT": "迁出 (4)"},
)
APPLICANT_TYPE = CodeTable("applicant_type", "申请人类型 (SQRLX)", {"PERSON": "自然人 (1)", "ORG": "法人 (2)"})
CHANNEL = CodeTable(
    "channel", "渠道 (QD)", {"WINDOW": "窗口 (1)", "WEB": "网上 (2)", "MOBILE": "掌上 (3)", "KIOSK": "自助 (4)"}
)
CASE_STEP = CodeTable(
    "case_step",
    "环节 (HJ)",
    {"SQ": "申请", "SL": "受理", "SP": "审批", "BJ": "办结", "BYSL": "不予受理", "CH": "撤回"},
)
CASE_STATUS = CodeTable(
    "case_status",
    "办件状态 (provincial platform)",
    {
        "SUBMITTED": "已申请",
        "ACCEPTED": "已受理",
        "PROCESSING": "审批中",
        "COMPLETED": "已办结",
        "NOT_ACCEPTED": "不予受理",
        "WITHDRAWN": "已撤回",
    },
)
CASE_RESULT = CodeTable("case_result", "办结结果 (BJJG)", {"APPROVED": "准予 (1)", "DENIED": "不予 (2)"})
