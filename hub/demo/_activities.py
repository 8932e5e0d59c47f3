"""Organisations' secretaries, the half-year activity calendar, and attendance.

Each branch runs the same calendar (三会一课, 主题党日 monthly, 组织生活会 and 民主评议 in
January...). An activity belongs to the one system that serves its branch; its roster is the
members that system lists whose destination or origin organisation is that branch (组织关系一方
隶属、组织生活多重参加). Attendance is drawn per (activity, member) from a seeded stream, so
the summary counts on each activity equal the attendance rows exactly.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from hub.demo import _names
from hub.demo.model import Activity, Attendance, Organization
from hub.demo.places import ORG_BY_ID, ORGS, OrgSpec

if TYPE_CHECKING:
    from hub.demo.generator import World

__all__ = ["org_system_lists", "organization", "activities_with_counts", "attendance_rows"]

_CST = timezone(timedelta(hours=8))

#: (month, day, hour, kind, title) for the first half of 2024
_CALENDAR: tuple[tuple[int, int, int, str, str], ...] = (
    (1, 5, 19, "themed_party_day", "1月主题党日：重温入党誓词"),
    (1, 12, 19, "organization_life_meeting", "2023年度组织生活会"),
    (1, 20, 14, "democratic_review", "2023年度民主评议党员"),
    (2, 5, 19, "themed_party_day", "2月主题党日：新春走访慰问"),
    (2, 26, 20, "branch_committee_meeting", "支委会：研究年度工作计划"),
    (3, 5, 19, "themed_party_day", "3月主题党日：学雷锋志愿服务"),
    (3, 15, 19, "branch_member_meeting", "支部党员大会：学习全国两会精神"),
    (4, 5, 19, "themed_party_day", "4月主题党日：清明祭英烈"),
    (4, 12, 19, "party_lecture", "乡音党课：雁行千里组织牵"),
    (5, 5, 19, "themed_party_day", "5月主题党日：劳动创造幸福"),
    (5, 18, 9, "volunteer_service", "党员志愿服务：社区环境整治"),
    (6, 5, 19, "themed_party_day", "6月主题党日：党纪学习教育"),
    (6, 14, 14, "training", "流动党员集中培训"),
    (6, 28, 20, "party_group_meeting", "党小组会：七一主题学习"),
)

_CHENGDU_PREFIX = ("510115", "510104", "510112", "510117")


def org_system_lists(system: str, spec: OrgSpec) -> bool:
    """Whether `system` has this organisation in its organisation list."""
    if system == "chengdu":
        return spec.region_code.startswith(_CHENGDU_PREFIX)
    if system == "zhejiang":
        return spec.region_code.startswith("33")
    if system == "county":
        return spec.org_id.startswith("511502")
    return False  # the village ledger lists members only


def _runs_activities(system: str, spec: OrgSpec) -> bool:
    """The one system recording a branch's organisation life: the destination platform where
    there is one (流入地管理为主), otherwise the origin county's database."""
    if spec.kind == "committee":
        return False
    if system in ("chengdu", "zhejiang"):
        return org_system_lists(system, spec)
    if system == "county":
        return org_system_lists("county", spec) and not org_system_lists("chengdu", spec)
    return False


def organization(spec: OrgSpec, seed: int) -> Organization:
    rng = random.Random(f"org:{seed}:{spec.org_id}")
    secretary = rng.choice(_names.SURNAMES) + rng.choice(_names.GIVEN_MALE) + rng.choice(
        _names.GIVEN_MALE
    )
    phone = rng.choice(_names.PHONE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
    updated = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(150))
    return Organization(
        spec.org_id, spec.name, spec.kind, spec.region_code, spec.parent_id, secretary, phone,
        updated,
    )


def _local_activity_id(system: str, n: int, org_id: str, start: datetime) -> str:
    if system == "chengdu":
        return f"act{n:06d}"
    if system == "zhejiang":
        return str(880000 + n)
    return f"HD{org_id}{start:%Y%m%d}"


def _calendar(system: str) -> list[Activity]:
    """Activities of the system's branches with zero counts (filled in by the pass)."""
    out: list[Activity] = []
    for spec in ORGS:
        if not _runs_activities(system, spec):
            continue
        for month, day, hour, kind, title in _CALENDAR:
            start = datetime(2024, month, day, hour, tzinfo=_CST).astimezone(UTC)
            online = spec.kind == "origin_branch" or (
                spec.kind == "floating_branch" and kind == "themed_party_day"
            ) or kind == "training"
            out.append(
                Activity(
                    local_id=_local_activity_id(system, len(out) + 1, spec.org_id, start),
                    system=system, org_id=spec.org_id, kind=kind, title=title,
                    start_time=start, online=online, expected=0, present=0, excused=0,
                    online_count=0, guests=0, updated_at=start + timedelta(days=2),
                )
            )
    return out


def _mode(rng: random.Random, origin_branch: bool, online: bool) -> str:
    r = rng.random()
    if origin_branch:  # far from home: attend by video or report instead (请假)
        return "present" if r < 0.10 else "online" if r < 0.55 else "excused" if r < 0.85 \
            else "absent"
    if r < 0.72:
        return "present"
    if r < 0.80:
        return "online" if online else "present"
    return "excused" if r < 0.92 else "absent"


def attendance_rows(world: World, system: str) -> Iterator[Attendance]:
    calendar = _calendar(system)
    by_org: dict[str, list[Activity]] = {}
    for activity in calendar:
        by_org.setdefault(activity.org_id, []).append(activity)
    rng = random.Random(f"attendance:{world.seed}:{system}")
    for member in world.members_in(system):
        person = member.person
        for org_id in dict.fromkeys((person.destination_org_id, person.origin_org_id)):
            origin_branch = ORG_BY_ID[org_id].kind == "origin_branch"
            for activity in by_org.get(org_id, ()):
                yield Attendance(
                    local_id=f"{activity.local_id}-{member.local_id}",
                    system=system,
                    activity_id=activity.local_id,
                    member_local_id=member.local_id,
                    id_number=person.id_number,
                    mode=_mode(rng, origin_branch, activity.online),
                )


def activities_with_counts(world: World, system: str) -> list[Activity]:
    counts: dict[str, Counter[str]] = {}
    for row in attendance_rows(world, system):
        counts.setdefault(row.activity_id, Counter())[row.mode] += 1
    guests_rng = random.Random(f"guests:{world.seed}:{system}")
    out = []
    for a in _calendar(system):
        c = counts.get(a.local_id, Counter())
        guests = guests_rng.randint(0, 10) if guests_rng.random() < 0.3 else 0
        out.append(
            Activity(
                local_id=a.local_id, system=system, org_id=a.org_id, kind=a.kind, title=a.title,
                start_time=a.start_time, online=a.online, expected=sum(c.values()),
                present=c["present"] + c["online"], excused=c["excused"],
                online_count=c["online"], guests=guests, updated_at=a.updated_at,
            )
        )
    return out
