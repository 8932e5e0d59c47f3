"""The canonical model: every entity and field the hub knows, one line each.

This is the one table the rest is derived from (`docs/architecture.md`, "Canonical fields",
explains the values): mapping validation rejects fields not listed here and `_values` infers
how to convert a raw cell from the field's value type, so a mapping file only says *which
column*, rarely *how*; on the hub side, `hub.model` derives from it the live fetch's type
checks, field authority for the merge, the GraphQL fields each canonical field feeds and the
fields the policies mask.

Why here and not in the hub: connectors stand alone (they never import `hub`), and they are the
ones that emit these fields, so the table has to live with them; the hub-side columns (the
side with authority, GraphQL names, sensitivity) are plain strings, which the connectors carry
but never read. Adding a canonical field is one line in `FIELDS` (plus, for an enum, its values
in `ENUMS`, and a schema regeneration when the GraphQL layer shows it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from connectors.base import PartialDate

__all__ = [
    "CanonicalField",
    "FIELDS",
    "ENTITIES",
    "FIELD_TYPES",
    "ENUMS",
    "ENUM_SYNONYMS",
    "TYPES",
    "PYTHON_TYPES",
    "AUTHORITIES",
    "SENSITIVITIES",
    "canonical_type",
    "fields_of",
    "WRITE_VALUES",
    "PAYLOAD_PREFIX",
]

#: every value type a field can have; a mapping may override the inferred one with `type`
TYPES = frozenset(
    {"string", "id_number", "date", "datetime", "bool", "int", "float", "region", "phone",
     "enum"}
)
#: value type -> the Python types a connector's record may hold for it (after mapping)
PYTHON_TYPES: Mapping[str, tuple[type, ...]] = MappingProxyType({
    "string": (str,), "id_number": (str,), "region": (str,), "phone": (str,), "enum": (str,),
    "date": (PartialDate, date), "datetime": (datetime,), "bool": (bool,), "int": (int,),
    "float": (float, int),
})
#: whose value wins when two sources disagree (hub.model.Authority): the origin side keeps
#: membership records (党籍), the destination side residence, work and organisation life
AUTHORITIES = frozenset({"origin", "destination", "newest"})
#: how a value may leave the hub without a contract saying otherwise (hub.model):
#: "ordinary"; "masked" (masked by the default policy; to other parties unless granted);
#: "identifying" (masked even to the party whose source holds it, unless a contract says full)
SENSITIVITIES = frozenset({"ordinary", "masked", "identifying"})

#: a GraphQL (type, field) pair
GraphQLField = tuple[str, str]


@dataclass(frozen=True, slots=True)
class CanonicalField:
    """One canonical field of one entity."""

    entity: str
    name: str
    #: the value type (`TYPES`); its Python types are `python_types`
    value_type: str
    #: the term the officials' systems and forms use
    term: str
    #: who wins a disagreement (`AUTHORITIES`)
    authority: str = "newest"
    #: the GraphQL (type, field) pairs whose value is made of this field; () when the schema
    #: does not show it field for field
    graphql: tuple[GraphQLField, ...] = ()
    sensitivity: str = "ordinary"

    @property
    def python_types(self) -> tuple[type, ...]:
        return PYTHON_TYPES[self.value_type]


_F = CanonicalField
_O, _D = "origin", "destination"

FIELDS: tuple[CanonicalField, ...] = (
    # member (`local_id` = the system's own id of the person)
    _F("member", "id_number", "id_number", "公民身份号码", _O, (("Member", "idNumber"),),
       "identifying"),
    _F("member", "name", "string", "姓名", _O, (("Member", "name"),)),
    _F("member", "gender", "enum", "性别", _O, (("Member", "gender"),)),
    _F("member", "birth_date", "date", "出生日期", _O, (("Member", "birthDate"),)),
    _F("member", "phone", "phone", "联系电话", "newest", (("Member", "phone"),), "masked"),
    _F("member", "status", "enum", "联系状态", _O, (("Member", "status"),)),
    _F("member", "origin_org_id", "string", "组织关系所在党组织", _O,
       (("Member", "originOrganization"),)),
    _F("member", "origin_org_name", "string", "组织关系所在党组织名称", _O,
       (("Member", "originOrganization"),)),
    _F("member", "origin_region_code", "region", "流出地", _O),
    _F("member", "destination_region_code", "region", "流入地", _D,
       (("Destination", "region"),)),
    _F("member", "destination_address", "string", "现居住地址", _D,
       (("Destination", "address"),)),
    _F("member", "employer", "string", "工作单位", _D,
       (("Destination", "employer"), ("Work", "employer"))),
    _F("member", "occupation", "string", "从事职业", _D,
       (("Destination", "occupation"), ("Work", "occupation"))),
    _F("member", "destination_since", "date", "流入时间", _D, (("Destination", "since"),)),
    _F("member", "destination_org_id", "string", "流入地党组织", _D,
       (("Destination", "organization"),)),
    _F("member", "intends_return_business", "bool", "返乡创业意愿", "newest",
       (("FourClarities", "intendsReturnBusiness"),)),
    _F("member", "willing_village_cadre", "bool", "担任村干部意愿", "newest",
       (("FourClarities", "willingVillageCadre"),)),
    _F("member", "updated_at", "datetime", "更新时间", "newest", (("Member", "updatedAt"),)),
    # organization (`local_id` = the organisation code, the same in every system)
    _F("organization", "name", "string", "党组织名称", graphql=(("Organization", "name"),)),
    _F("organization", "kind", "enum", "组织类别", graphql=(("Organization", "kind"),)),
    _F("organization", "region_code", "region", "所在地区",
       graphql=(("Organization", "region"),)),
    _F("organization", "parent_id", "string", "上级党组织",
       graphql=(("Organization", "parent"),)),
    _F("organization", "secretary", "string", "书记", graphql=(("Organization", "secretary"),)),
    _F("organization", "contact_phone", "phone", "联系电话",
       graphql=(("Organization", "contactPhone"),), sensitivity="masked"),
    _F("organization", "updated_at", "datetime", "更新时间"),
    # activity (三会一课, 主题党日 ...)
    _F("activity", "org_id", "string", "组织单位", graphql=(("Activity", "organiser"),)),
    _F("activity", "kind", "enum", "活动类型", graphql=(("Activity", "kind"),)),
    _F("activity", "title", "string", "活动主题", graphql=(("Activity", "title"),)),
    _F("activity", "start_time", "datetime", "活动时间", graphql=(("Activity", "startTime"),)),
    _F("activity", "online", "bool", "线上活动", graphql=(("Activity", "online"),)),
    _F("activity", "expected", "int", "应到人数",
       graphql=(("AttendanceSummary", "expected"),)),
    _F("activity", "present", "int", "实到人数", graphql=(("AttendanceSummary", "present"),)),
    _F("activity", "excused", "int", "请假人数", graphql=(("AttendanceSummary", "excused"),)),
    _F("activity", "online_count", "int", "线上参加人数",
       graphql=(("AttendanceSummary", "online"),)),
    _F("activity", "guests", "int", "列席人数", graphql=(("AttendanceSummary", "guests"),)),
    _F("activity", "updated_at", "datetime", "更新时间"),
    # attendance (one member at one activity)
    _F("attendance", "activity_id", "string", "活动", graphql=(("Attendance", "activity"),)),
    _F("attendance", "member_id_number", "id_number", "党员公民身份号码",
       sensitivity="identifying"),
    _F("attendance", "mode", "enum", "参加方式", graphql=(("Attendance", "mode"),)),
    # study_record (学习记录: one course one member finished on a study platform, 学习强国-like)
    _F("study_record", "member_id_number", "id_number", "党员公民身份号码",
       sensitivity="identifying"),
    _F("study_record", "course", "string", "课程", graphql=(("StudyRecord", "course"),)),
    _F("study_record", "platform", "string", "学习平台", graphql=(("StudyRecord", "platform"),)),
    _F("study_record", "hours", "float", "学时", graphql=(("StudyRecord", "hours"),)),
    _F("study_record", "completed_at", "datetime", "完成时间",
       graphql=(("StudyRecord", "completedAt"),)),
    _F("study_record", "score", "float", "成绩", graphql=(("StudyRecord", "score"),)),
    _F("study_record", "updated_at", "datetime", "更新时间"),
)

#: the canonical entities, in table order
ENTITIES: tuple[str, ...] = tuple(dict.fromkeys(f.entity for f in FIELDS))


def fields_of(entity: str) -> tuple[CanonicalField, ...]:
    """The canonical fields of one entity, in table order."""
    return tuple(f for f in FIELDS if f.entity == entity)


#: entity -> field -> value type (what mapping validation and value conversion read)
FIELD_TYPES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    entity: MappingProxyType({f.name: f.value_type for f in fields_of(entity)})
    for entity in ENTITIES
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
ENUM_SYNONYMS: Mapping[tuple[str, str], Mapping[str, str]] = MappingProxyType(
    {
        ("member", "gender"): {"男": "male", "女": "female", "男性": "male", "女性": "female"},
        ("member", "status"): {
            "正常联系": "in_contact",
            "正常": "in_contact",
            "联系中": "in_contact",
            "失联": "lost_contact",
            "失去联系": "lost_contact",
            "已返乡": "returned",
            "返乡": "returned",
            "已转出": "transferred_out",
            "转出": "transferred_out",
        },
        ("organization", "kind"): {
            "流出地党支部": "origin_branch",
            "流动党员党支部": "floating_branch",
            "流动党员党总支": "floating_branch",
            "流入地党支部": "destination_branch",
            "党委": "committee",
        },
        ("activity", "kind"): {
            "支部党员大会": "branch_member_meeting",
            "党员大会": "branch_member_meeting",
            "支委会": "branch_committee_meeting",
            "党小组会": "party_group_meeting",
            "党课": "party_lecture",
            "主题党日": "themed_party_day",
            "组织生活会": "organization_life_meeting",
            "民主评议": "democratic_review",
            "民主评议党员": "democratic_review",
            "志愿服务": "volunteer_service",
            "培训": "training",
        },
        ("attendance", "mode"): {
            "出席": "present",
            "实到": "present",
            "线上": "online",
            "线上参加": "online",
            "请假": "excused",
            "缺席": "absent",
        },
    }
)


def canonical_type(entity: str, field: str) -> str | None:
    """The inferred value type of a canonical field, or None when the field is unknown."""
    return FIELD_TYPES.get(entity, {}).get(field)


# ---- write-back -----------------------------------------------------------------------------

#: the values every write request carries, by the name a `[write.<action>.fields]` table maps
#: to a column: the ledger entry's own fields, plus `member_local_id` (the member's id in
#: *this* system, from the hub's links). The action's payload values are `payload.<name>`.
WRITE_VALUES: Mapping[str, str] = MappingProxyType({
    "entry_id": "string", "action": "string", "idempotency_key": "string",
    "member_key": "string", "member_local_id": "string", "organization": "string",
    "party": "string", "user": "string", "recorded_at": "datetime", "answers": "string",
})
PAYLOAD_PREFIX = "payload."
