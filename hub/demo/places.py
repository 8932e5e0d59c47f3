"""The places and party organisations of the demo world, taken from the articles.

Origin counties (流出地) are where members' membership is kept; destinations (流入地) are the
cities they work in. Organisation codes are stable strings shared by every system, because the
real systems share the organisation code (党组织代码) even when nothing else matches:
`{region code}{kind letter}{nnn}` — C committee, T town committee, V village branch,
F floating-member branch (set up by an origin county inside a destination city),
D destination branch.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "County",
    "Destination",
    "OrgSpec",
    "COUNTIES",
    "DESTINATIONS",
    "ORGS",
    "ORG_BY_ID",
    "YONGSHUI_VILLAGE",
    "REGION_NAMES",
]


@dataclass(frozen=True, slots=True)
class County:
    """An origin county, with its weight in the world's population of floating members."""

    code: str
    name: str
    full_name: str
    weight: float


@dataclass(frozen=True, slots=True)
class Destination:
    """A destination district or city, with its province's platform (None: no system there)."""

    code: str
    city: str
    district: str
    province: str
    platform: str | None
    weight: float
    streets: tuple[str, ...]

    @property
    def full_name(self) -> str:
        return self.city + (self.district if self.district != self.city else "")


@dataclass(frozen=True, slots=True)
class OrgSpec:
    """A party organisation. `kind` uses the canonical names of docs/architecture.md."""

    org_id: str
    name: str
    kind: str  # origin_branch | floating_branch | destination_branch | committee
    region_code: str
    parent_id: str | None


COUNTIES: tuple[County, ...] = (
    County("511502", "叙州区", "四川省宜宾市叙州区", 0.35),
    County("510521", "泸县", "四川省泸州市泸县", 0.30),
    County("510524", "叙永县", "四川省泸州市叙永县", 0.15),
    County("431127", "蓝山县", "湖南省永州市蓝山县", 0.10),
    County("431023", "永兴县", "湖南省郴州市永兴县", 0.10),
)

DESTINATIONS: tuple[Destination, ...] = (
    Destination("510115", "成都市", "温江区", "四川省", "chengdu", 0.20,
                ("涌泉街道光华大道", "涌泉街道凤溪大道", "柳城街道南熏大道")),
    Destination("510104", "成都市", "锦江区", "四川省", "chengdu", 0.10,
                ("春熙路街道", "牛市口街道", "东大街")),
    Destination("510112", "成都市", "龙泉驿区", "四川省", "chengdu", 0.08,
                ("龙泉街道", "大面街道")),
    Destination("510117", "成都市", "郫都区", "四川省", "chengdu", 0.07,
                ("犀浦街道犀和路", "犀浦街道天府大道")),
    Destination("330105", "杭州市", "拱墅区", "浙江省", "zhejiang", 0.12,
                ("潮鸣街道建国北路", "潮鸣街道中山北路")),
    Destination("330102", "杭州市", "上城区", "浙江省", "zhejiang", 0.08,
                ("湖滨街道延安路", "清波街道")),
    Destination("330212", "宁波市", "鄞州区", "浙江省", "zhejiang", 0.10,
                ("钟公庙街道", "首南街道")),
    Destination("441900", "东莞市", "东莞市", "广东省", None, 0.12,
                ("长安镇", "虎门镇", "厚街镇")),
    Destination("440300", "深圳市", "深圳市", "广东省", None, 0.13,
                ("宝安区西乡街道", "龙岗区坂田街道", "南山区粤海街道")),
)


def _o(org_id: str, name: str, kind: str, region: str, parent: str | None) -> OrgSpec:
    return OrgSpec(org_id, name, kind, region, parent)


ORGS: tuple[OrgSpec, ...] = (
    # 泸县 (origin)
    _o("510521C000", "中共泸县委员会", "committee", "510521", None),
    _o("510521T001", "泸县云锦镇党委", "committee", "510521", "510521C000"),
    _o("510521T002", "泸县立石镇党委", "committee", "510521", "510521C000"),
    _o("510521V001", "涌水村党支部", "origin_branch", "510521", "510521T001"),
    _o("510521V002", "石牛村党支部", "origin_branch", "510521", "510521T001"),
    _o("510521V003", "龙华村党支部", "origin_branch", "510521", "510521T002"),
    _o("510521F001", "泸县驻东莞农民工党总支", "floating_branch", "441900", "510521C000"),
    # 叙州区 (origin)
    _o("511502C000", "中共宜宾市叙州区委员会", "committee", "511502", None),
    _o("511502T001", "叙州区高场镇党委", "committee", "511502", "511502C000"),
    _o("511502T002", "叙州区观音镇党委", "committee", "511502", "511502C000"),
    _o("511502V001", "高场镇高场村党支部", "origin_branch", "511502", "511502T001"),
    _o("511502V002", "高场镇金龙村党支部", "origin_branch", "511502", "511502T001"),
    _o("511502V003", "观音镇双龙村党支部", "origin_branch", "511502", "511502T002"),
    _o("511502F001", "叙州区驻深圳流动党员党支部", "floating_branch", "440300", "511502C000"),
    _o("511502F002", "高场镇驻蓉流动党员党支部", "floating_branch", "510115", "511502T001"),
    # 叙永县 (origin)
    _o("510524C000", "中共叙永县委员会", "committee", "510524", None),
    _o("510524V001", "叙永镇鱼凫村党支部", "origin_branch", "510524", "510524C000"),
    _o("510524V002", "马岭镇石坝村党支部", "origin_branch", "510524", "510524C000"),
    # 蓝山县 (origin)
    _o("431127C000", "中共蓝山县委员会", "committee", "431127", None),
    _o("431127V001", "塔峰镇城东村党支部", "origin_branch", "431127", "431127C000"),
    _o("431127V002", "祠堂圩镇虎溪村党支部", "origin_branch", "431127", "431127C000"),
    # 永兴县 (origin)
    _o("431023C000", "中共永兴县委员会", "committee", "431023", None),
    _o("431023V001", "马田镇宋家村党支部", "origin_branch", "431023", "431023C000"),
    _o("431023V002", "金龟镇小田村党支部", "origin_branch", "431023", "431023C000"),
    # 成都 (destination)
    _o("510115C001", "温江区涌泉街道党工委", "committee", "510115", None),
    _o(
        "510115D001", "涌泉街道腾龙社区流入党员党支部", "destination_branch", "510115", "510115C001"
    ),
    _o(
        "510115D002", "涌泉街道清泉社区流入党员党支部", "destination_branch", "510115", "510115C001"
    ),
    _o("510104D001", "锦江区新业态新就业群体流动党员党支部", "destination_branch", "510104", None),
    _o("510112D001", "龙泉驿区龙泉街道流入党员党支部", "destination_branch", "510112", None),
    _o("510117D001", "郫都区犀浦街道犀和社区流入党员党支部", "destination_branch", "510117", None),
    # 杭州, 宁波 (destination)
    _o("330105C001", "拱墅区潮鸣街道党工委", "committee", "330105", None),
    _o("330105D001", "潮鸣街道流动党员联合党支部", "destination_branch", "330105", "330105C001"),
    _o("330102D001", "上城区新业态流动党员党支部", "destination_branch", "330102", None),
    _o("330212D001", "鄞州区流动党员党支部", "destination_branch", "330212", None),
    # 东莞, 深圳 (destination, no platform connected)
    _o("441900D001", "东莞市长安镇流入党员党支部", "destination_branch", "441900", None),
    _o("440300D001", "深圳市宝安区流入党员党支部", "destination_branch", "440300", None),
)

ORG_BY_ID: dict[str, OrgSpec] = {o.org_id: o for o in ORGS}

#: The village whose Excel ledger is one of the four systems (涌水村流动党员信息台账).
YONGSHUI_VILLAGE = "510521V001"

#: Names of every region code used, for systems that write names instead of codes.
REGION_NAMES: dict[str, str] = {
    **{c.code: c.full_name for c in COUNTIES},
    **{d.code: d.province + d.full_name for d in DESTINATIONS},
}
