"""GB/T 2260 administrative division codes (行政区划代码) for the places in the articles.

Systems write a place as a code ("510115"), a full name ("成都市温江区"), or a short name
("温江"); the hub stores the 6-digit code. This is a deliberately small table (the provinces,
cities and counties that appear in the co-management agreements), not the full standard: a
well-formed code that is not listed is still accepted by `_values`, an unknown *name* is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["Region", "REGIONS", "region_by_code", "region_by_name", "resolve_region", "region_name"]


@dataclass(frozen=True, slots=True)
class Region:
    """One division: its code, its own name and its parent's code (None for a province)."""

    code: str
    name: str
    parent: str | None

    @property
    def level(self) -> str:
        """"province", "city" or "county", from the code's trailing zeros."""
        if self.code.endswith("0000"):
            return "province"
        return "city" if self.code.endswith("00") else "county"


_TABLE: tuple[tuple[str, str], ...] = (
    # 四川省
    ("510000", "四川省"),
    ("510100", "成都市"), ("510104", "锦江区"), ("510105", "青羊区"), ("510107", "武侯区"),
    ("510112", "龙泉驿区"), ("510115", "温江区"), ("510116", "双流区"), ("510117", "郫都区"),
    ("510500", "泸州市"), ("510502", "江阳区"), ("510521", "泸县"), ("510524", "叙永县"),
    ("510600", "德阳市"), ("510603", "旌阳区"),
    ("511400", "眉山市"), ("511402", "东坡区"),
    ("511500", "宜宾市"), ("511502", "叙州区"), ("511503", "南溪区"),
    ("512000", "资阳市"), ("512002", "雁江区"),
    # 浙江省
    ("330000", "浙江省"),
    ("330100", "杭州市"), ("330102", "上城区"), ("330105", "拱墅区"), ("330106", "西湖区"),
    ("330200", "宁波市"), ("330203", "海曙区"), ("330212", "鄞州区"),
    ("330300", "温州市"), ("330302", "鹿城区"),
    # 广东省
    ("440000", "广东省"),
    ("440100", "广州市"), ("440106", "天河区"),
    ("440300", "深圳市"), ("440303", "罗湖区"), ("440304", "福田区"), ("440306", "宝安区"),
    ("441900", "东莞市"),
    # 湖南省
    ("430000", "湖南省"),
    ("430100", "长沙市"),
    ("431000", "郴州市"), ("431023", "永兴县"),
    ("431100", "永州市"), ("431127", "蓝山县"),
)


def _parent(code: str) -> str | None:
    if code.endswith("0000"):
        return None
    if code.endswith("00") or code[:4] + "00" not in _NAMES:
        # cities, and counties of cities not listed (东莞 has no county level)
        return code[:2] + "0000"
    return code[:4] + "00"


_NAMES = {code: name for code, name in _TABLE}
REGIONS: Mapping[str, Region] = MappingProxyType(
    {code: Region(code, name, _parent(code)) for code, name in _TABLE}
)

_SUFFIXES = ("自治县", "省", "市", "区", "县")


def _short(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _full_names(region: Region) -> list[str]:
    """Own name and names prefixed by ancestors: 温江区, 成都市温江区, 四川省成都市温江区."""
    names = [region.name]
    parent = region.parent
    prefix = region.name
    while parent is not None:
        prefix = REGIONS[parent].name + prefix
        names.append(prefix)
        parent = REGIONS[parent].parent
    return names


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    ambiguous: set[str] = set()
    for region in REGIONS.values():
        for full in _full_names(region):
            for key in {full, _short(full)}:
                if key in index and index[key] != region.code:
                    ambiguous.add(key)
                index.setdefault(key, region.code)
        short = _short(region.name)
        if short in index and index[short] != region.code:
            ambiguous.add(short)
        index.setdefault(short, region.code)
    for key in ambiguous:  # never guess between two places
        del index[key]
    return index


_BY_NAME = _build_index()
_CODE = re.compile(r"[0-9]{6}")  # ASCII only: "\d" also matches "５" or "٣"


def region_by_code(code: str) -> Region | None:
    """The listed region with this 6-digit code, or None."""
    return REGIONS.get(code.strip())


def region_by_name(name: str) -> Region | None:
    """Look up by full or short name.

    温江区, 温江, 成都市温江区 and 四川省成都市温江区 all give 510115.
    """
    key = re.sub(r"\s+", "", name)
    code = _BY_NAME.get(key) or _BY_NAME.get(_short(key))
    return REGIONS[code] if code else None


def resolve_region(value: str) -> str | None:
    """A 6-digit code for a code or a name; None when the name is unknown.

    Well-formed codes that are not in this small table pass through unchanged: the table
    covers the articles' places, not the whole standard.
    """
    text = value.strip()
    if _CODE.fullmatch(text):
        return text
    region = region_by_name(text)
    return region.code if region else None


def region_name(code: str) -> str | None:
    """The name of a listed region (温江区 for 510115), or None."""
    region = REGIONS.get(code)
    return region.name if region else None
