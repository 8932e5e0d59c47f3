"""GraphQL enums over the canonical codes of docs/architecture.md ("Canonical fields")."""

from __future__ import annotations

import enum
from typing import TypeVar

import strawberry

__all__ = [
    "BreakerStateKind",
    "Gender",
    "MemberStatus",
    "OrganizationKind",
    "ActivityKind",
    "AttendanceMode",
    "SourceSide",
    "HealthState",
    "to_enum",
]

E = TypeVar("E", bound=enum.Enum)


def to_enum(cls: type[E], value: object) -> E | None:
    """Canonical code -> enum member; None for an unknown code (it shows as a data issue)."""
    if value is None:
        return None
    try:
        return cls(value)
    except ValueError:
        return None


@strawberry.enum(description="性别。 Gender.")
class Gender(enum.Enum):
    MALE = strawberry.enum_value("male", description="男 male")
    FEMALE = strawberry.enum_value("female", description="女 female")


@strawberry.enum(description="联系状态。 Contact status of a mobile party member.")
class MemberStatus(enum.Enum):
    IN_CONTACT = strawberry.enum_value("in_contact", description="正常联系 in contact")
    LOST_CONTACT = strawberry.enum_value("lost_contact", description="失联 lost contact")
    RETURNED = strawberry.enum_value("returned", description="已返乡 returned home")
    TRANSFERRED_OUT = strawberry.enum_value(
        "transferred_out", description="已转出 membership transferred out"
    )


@strawberry.enum(description="党组织类型。 Kind of party organisation.")
class OrganizationKind(enum.Enum):
    ORIGIN_BRANCH = strawberry.enum_value(
        "origin_branch", description="流出地党支部 origin branch (holds membership)"
    )
    FLOATING_BRANCH = strawberry.enum_value(
        "floating_branch",
        description="流动党员党支部 floating-member branch, set up by the origin in the "
        "destination",
    )
    DESTINATION_BRANCH = strawberry.enum_value(
        "destination_branch", description="流入地党支部 destination branch"
    )
    COMMITTEE = strawberry.enum_value("committee", description="党委 party committee")


@strawberry.enum(description="组织生活类型（三会一课等）。 Kind of organisation-life activity.")
class ActivityKind(enum.Enum):
    BRANCH_MEMBER_MEETING = strawberry.enum_value(
        "branch_member_meeting", description="支部党员大会 branch member meeting (三会一课)"
    )
    BRANCH_COMMITTEE_MEETING = strawberry.enum_value(
        "branch_committee_meeting", description="支委会 branch committee meeting (三会一课)"
    )
    PARTY_GROUP_MEETING = strawberry.enum_value(
        "party_group_meeting", description="党小组会 party group meeting (三会一课)"
    )
    PARTY_LECTURE = strawberry.enum_value(
        "party_lecture", description="党课 party lecture (三会一课)"
    )
    THEMED_PARTY_DAY = strawberry.enum_value(
        "themed_party_day", description="主题党日 monthly themed party day"
    )
    ORGANIZATION_LIFE_MEETING = strawberry.enum_value(
        "organization_life_meeting", description="组织生活会 annual organisation-life meeting"
    )
    DEMOCRATIC_REVIEW = strawberry.enum_value(
        "democratic_review", description="民主评议 democratic review of members"
    )
    VOLUNTEER_SERVICE = strawberry.enum_value(
        "volunteer_service", description="志愿服务 volunteer service"
    )
    TRAINING = strawberry.enum_value("training", description="培训 training")


@strawberry.enum(description="参加方式。 How a member took part in an activity.")
class AttendanceMode(enum.Enum):
    PRESENT = strawberry.enum_value("present", description="现场参加 present on site")
    ONLINE = strawberry.enum_value("online", description="线上参加 online (counts as attending)")
    EXCUSED = strawberry.enum_value("excused", description="请假 excused")
    ABSENT = strawberry.enum_value("absent", description="缺席 absent")
    BY_REPORT = strawberry.enum_value(
        "by_report", description="以报告代参加 by a report to the origin branch (双报; counts "
        "as attending, 004)")


@strawberry.enum(description="数据源所属一方。 Which side of the co-management agreement.")
class SourceSide(enum.Enum):
    ORIGIN = strawberry.enum_value("origin", description="流出地 origin side")
    DESTINATION = strawberry.enum_value("destination", description="流入地 destination side")


@strawberry.enum(name="BreakerState",
                 description="熔断器状态。 State of a source's circuit breaker.")
class BreakerStateKind(enum.Enum):
    CLOSED = strawberry.enum_value("closed", description="闭合：正常调用 calls go through")
    OPEN = strawberry.enum_value("open", description="断开：立即返回不可用 calls fail at once")
    HALF_OPEN = strawberry.enum_value(
        "half_open", description="半开：试探一次 one probe call is in flight"
    )


@strawberry.enum(description="数据源健康状态。 Last known health of a connected system.")
class HealthState(enum.Enum):
    UNKNOWN = strawberry.enum_value("unknown", description="未检测 not checked yet")
    OK = strawberry.enum_value("ok", description="正常 answering")
    DOWN = strawberry.enum_value(
        "down", description="异常 unavailable, timed out, refused or answering garbage"
    )
