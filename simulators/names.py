"""Word lists for synthetic but plausible Chinese names and 银川 addresses."""

from __future__ import annotations

CITY_DISTRICTS: dict[str, str] = {
    "640104": "兴庆区",
    "640105": "西夏区",
    "640106": "金凤区",
    "640121": "永宁县",
    "640122": "贺兰县",
    "640181": "灵武市",
}
"""银川市's counties and districts (GB/T 2260) as standards.md lists them: the simulators' own copy, so a
district missing from the hub's ``schemas.codes`` shows as dirt the hub rejects instead of going unnoticed."""

SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = tuple(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华文慧建国红梅玉兰志强海燕鹏飞晨阳宇浩然子涵欣怡梓萱雨轩俊杰佳怡"
    "思远博文嘉怡一诺雅琪浩宇晓东春梅建华丽娟立新永明秀珍淑珍"
)
ROADS = (
    "解放西街",
    "北京中路",
    "正源北街",
    "上海西路",
    "文化东街",
    "贺兰山中路",
    "民族北街",
    "宁安大街",
    "亲水大街",
    "黄河东路",
    "凤凰北街",
    "银古路",
    "宝湖路",
    "长城中路",
    "同心路",
)
