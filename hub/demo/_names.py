"""Word tables for synthetic people: surnames, given-name characters, jobs, employers.

Every character here is in GBK, because the village ledger is written as a GBK CSV.
"""

from __future__ import annotations

__all__ = [
    "SURNAMES",
    "SURNAME_WEIGHTS",
    "GIVEN_MALE",
    "GIVEN_FEMALE",
    "OCCUPATIONS",
    "EMPLOYER_WORDS",
    "EMPLOYER_SUFFIXES",
    "PHONE_PREFIXES",
    "HOMOPHONES",
]

SURNAMES: tuple[str, ...] = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
)
# common surnames first, with a long tail, roughly as in the census
SURNAME_WEIGHTS: tuple[float, ...] = tuple(
    max(0.4, 7.5 - 0.35 * i) for i in range(len(SURNAMES))
)

GIVEN_MALE: tuple[str, ...] = tuple(
    "伟强军勇涛明超刚平辉鹏华飞斌波宇浩凯健俊帆磊林杰建国志成兵正安荣云川昌德文武"
    "海春永伦福贵祥根富生宏鑫洪江"
)
GIVEN_FEMALE: tuple[str, ...] = tuple(
    "芳娜敏静丽艳娟霞秀英华慧燕玲桂兰红梅琴云莲真环雪荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞"
    "莉萍翠玉"
)

OCCUPATIONS: tuple[str, ...] = (
    "建筑工人", "外卖骑手", "快递员", "网约车司机", "餐饮服务员", "个体经营", "电子厂操作工",
    "家政服务员", "食用菌种植", "销售", "保安", "技术员", "皮具加工", "货车司机", "装修工",
    "厨师", "仓库管理员", "社区网格员",
)

EMPLOYER_WORDS: tuple[str, ...] = (
    "顺达", "安居", "鑫源", "蜀丰", "长江", "华兴", "宏远", "恒通", "金桥", "锦程", "天府", "海天",
    "瑞丰", "新城", "众诚", "万家", "东盛", "嘉禾",
)
EMPLOYER_SUFFIXES: tuple[str, ...] = (
    "物流有限公司", "建筑工程有限公司", "餐饮管理有限公司", "电子科技有限公司", "家具有限公司",
    "商贸有限公司", "快递服务有限公司", "家政服务有限公司", "皮具制品厂", "物业服务有限公司",
)

PHONE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "157",
    "158", "159", "166", "173", "177", "180", "181", "182", "183", "186", "187", "188", "189",
    "191", "198", "199",
)

#: Characters a clerk on the other side might key instead (a name that disagrees across systems).
HOMOPHONES: dict[str, str] = {
    "伟": "玮", "强": "蔷", "军": "君", "明": "铭", "华": "化", "林": "琳", "杰": "洁", "国": "果",
    "成": "诚", "云": "芸", "文": "雯", "海": "凯", "春": "椿", "永": "泳", "芳": "方", "静": "靖",
    "丽": "莉", "艳": "燕", "英": "瑛", "红": "虹", "梅": "玫", "琴": "芹", "玉": "钰", "平": "萍",
}
