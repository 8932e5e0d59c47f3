"""The canonical fields of each entity and the value type each one carries.

This is `docs/architecture.md` "Canonical fields" as data: mapping validation rejects fields
not listed here, and `_values` infers how to convert a raw cell from the field's type, so a
mapping file only says *which column*, rarely *how*.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["FIELD_TYPES", "ENUMS", "ENUM_SYNONYMS", "TYPES", "canonical_type"]

#: every value type a field can have; a mapping may override the inferred one with `type`
TYPES = frozenset(
    {"string", "id_number", "date", "datetime", "bool", "int", "region", "phone", "enum"}
)

FIELD_TYPES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "member": MappingProxyType({
        "id_number": "id_number", "name": "string", "gender": "enum", "birth_date": "date",
        "phone": "phone", "status": "enum", "origin_org_id": "string",
        "origin_org_name": "string", "origin_region_code": "region",
        "destination_region_code": "region", "destination_address": "string",
        "employer": "string", "occupation": "string", "destination_since": "date",
        "destination_org_id": "string", "intends_return_business": "bool",
        "willing_village_cadre": "bool", "updated_at": "datetime",
    }),
    "organization": MappingProxyType({
        "name": "string", "kind": "enum", "region_code": "region", "parent_id": "string",
        "secretary": "string", "contact_phone": "phone", "updated_at": "datetime",
    }),
    "activity": MappingProxyType({
        "org_id": "string", "kind": "enum", "title": "string", "start_time": "datetime",
        "online": "bool", "expected": "int", "present": "int", "excused": "int",
        "online_count": "int", "guests": "int", "updated_at": "datetime",
    }),
    "attendance": MappingProxyType({
        "activity_id": "string", "member_id_number": "id_number", "mode": "enum",
    }),
})

#: (entity, field) -> the allowed canonical values of an enum field
ENUMS: Mapping[tuple[str, str], frozenset[str]] = MappingProxyType({
    ("member", "gender"): frozenset({"male", "female"}),
    ("member", "status"): frozenset({"in_contact", "lost_contact", "returned", "transferred_out"}),
    ("organization", "kind"): frozenset(
        {"origin_branch", "floating_branch", "destination_branch", "committee"}
    ),
    ("activity", "kind"): frozenset({
        "branch_member_meeting", "branch_committee_meeting", "party_group_meeting",
        "party_lecture", "themed_party_day", "organization_life_meeting", "democratic_review",
        "volunteer_service", "training",
    }),
    ("attendance", "mode"): frozenset({"present", "online", "excused", "absent"}),
})

#: the Chinese words officials write, understood without a `codes` table in the mapping
ENUM_SYNONYMS: Mapping[tuple[str, str], Mapping[str, str]] = MappingProxyType({
    ("member", "gender"): {"男": "male", "女": "female", "男性": "male", "女性": "female"},
    ("member", "status"): {
        "正常联系": "in_contact", "正常": "in_contact", "联系中": "in_contact",
        "失联": "lost_contact", "失去联系": "lost_contact",
        "已返乡": "returned", "返乡": "returned", "已转出": "transferred_out", "转出": "transferred_out",
    },
    ("organization", "kind"): {
        "流出地党支部": "origin_branch", "流动党员党支部": "floating_branch",
        "流动党员党总支": "floating_branch", "流入地党支部": "destination_branch", "党委": "committee",
    },
    ("activity", "kind"): {
        "支部党员大会": "branch_member_meeting", "党员大会": "branch_member_meeting",
        "支委会": "branch_committee_meeting", "党小组会": "party_group_meeting",
        "党课": "party_lecture", "主题党日": "themed_party_day",
        "组织生活会": "organization_life_meeting", "民主评议": "democratic_review",
        "民主评议党员": "democratic_review", "志愿服务": "volunteer_service", "培训": "training",
    },
    ("attendance", "mode"): {"出席": "present", "实到": "present", "线上": "online",
                             "线上参加": "online", "请假": "excused", "缺席": "absent"},
})


def canonical_type(entity: str, field: str) -> str | None:
    """The inferred value type of a canonical field, or None when the field is unknown."""
    return FIELD_TYPES.get(entity, {}).get(field)
