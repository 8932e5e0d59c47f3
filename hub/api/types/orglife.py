"""GraphQL for workflow 4, organisation life: `recordOrganizationLife` (an activity and every
member's attendance plus guests, in one ledger entry) and `organizationLifeCompliance` (members
of a branch below the yearly rules: one on-site activity, 004; four activities, 002).

The guard checks the `attendance` record permission for every member listed (`Intent.
also_members`), so one entry can record a whole branch meeting. The entry writes the activity
into the index (hub.exchange.orglife): `Activity`, `Member.activities`, and the compliance
below read it like any synced activity.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import or_, select
from strawberry.types import Info

from hub.api.context import Context
from hub.api.exchange import Intent, ledger_action
from hub.api.inputs import check_org_code
from hub.api.types.enums import ActivityKind, AttendanceMode
from hub.api.types.exchange import ExchangeReceipt
from hub.api.types.pagination import Connection, relay_window
from hub.api.types.workflow_common import current_year, recorded_by_condition
from hub.clock import format_time
from hub.exchange.errors import PayloadInvalid
from hub.exchange.orglife import OrganizationLife, activity_key, organization_life_effect
from hub.exchange.participation import (
    MIN_ACTIVITIES_PER_YEAR,
    MIN_ON_SITE_PER_YEAR,
    Compliance,
    compliance,
    with_report,
)
from hub.exchange.reports import absences_by_report
from hub.exchange.schedule import CST
from hub.policy.base import ScopeByRow
from hub.store.models import ActivityRow, AttendanceRow, MemberRow

if TYPE_CHECKING:
    from hub.api.types.activity import Activity
    from hub.api.types.member import Member

__all__ = ["QUERY_TYPES", "MUTATION_TYPES", "MemberCompliance", "AttendanceInput",
           "ActivityInput"]

_Member = Annotated["Member", strawberry.lazy("hub.api.types.member")]
_Activity = Annotated["Activity", strawberry.lazy("hub.api.types.activity")]


@strawberry.enum(description="组织生活年度要求。 A yearly rule of organisation life.")
class ComplianceRule(enum.Enum):
    ON_SITE = strawberry.enum_value(
        "on_site", description=f"每年至少{MIN_ON_SITE_PER_YEAR}次现场参加（004） at least "
        f"{MIN_ON_SITE_PER_YEAR} on-site activity a year (004)")
    ACTIVITIES = strawberry.enum_value(
        "activities", description=f"每年至少参加{MIN_ACTIVITIES_PER_YEAR}次活动（002） at least "
        f"{MIN_ACTIVITIES_PER_YEAR} activities a year, online and by report included (002)")


@strawberry.input(description="一名成员的参加情况。 How one member took part.")
class AttendanceInput:
    member_key: strawberry.ID = strawberry.field(description="成员键。 Member key.")
    mode: AttendanceMode = strawberry.field(description="参加方式。 How they took part.")


@strawberry.input(description="一次组织生活活动。 An organisation-life activity to record.")
class ActivityInput:
    kind: ActivityKind = strawberry.field(description="类型。 Kind.")
    title: str = strawberry.field(description="标题（≤300字）。 Title (at most 300 "
                                  "characters).")
    start_time: datetime = strawberry.field(description="开始时间（带时区）。 Start, with a "
                                            "time zone.")
    online: bool = strawberry.field(default=False, description="线上举行。 Held online.")
    hours: float | None = strawberry.field(
        default=None, description="志愿服务时长（小时，半小时为单位），参加者按小时计分。 "
        "Volunteer service only: hours served (half-hour steps); each member present or "
        "online earns points per hour.")


@strawberry.type(description="组织生活记录回执：台账条目与活动。 Receipt of an organisation-life "
                 "record: the ledger entry, the activity, the organisation.")
class OrganizationLifeReceipt(ExchangeReceipt):
    @strawberry.field(description="记录的活动（含出勤汇总与参与率）。 The activity recorded, with "
                      "its attendance summary and participation rate.")
    async def activity(self, info: Info) -> _Activity | None:
        from hub.api.types.activity import activity_by_key

        return await activity_by_key(info, activity_key(self.entry._entry.id))


@strawberry.type(description="成员年度组织生活达标情况。 A member's organisation life in one "
                 "year against the yearly rules.")
class MemberCompliance:
    _compliance: strawberry.Private[Compliance]

    @strawberry.field(description="成员（调用方可见时）。 The member, when the caller may see "
                      "them.")
    async def member(self, info: Info) -> _Member | None:
        from hub.api.types.resolve import member_by_key

        return await member_by_key(info, self._compliance.member_key)

    @strawberry.field(description="年度。 Year.")
    def year(self) -> int:
        return self._compliance.year

    @strawberry.field(description="参加次数（现场、线上、以报告代参加）。 Activities taken part "
                      "in: on site, online or by report.")
    def activities(self) -> int:
        return self._compliance.activities

    @strawberry.field(description="其中现场参加次数。 Of which on site.")
    def on_site(self) -> int:
        return self._compliance.on_site

    @strawberry.field(description="是否达标。 Meets both rules.")
    def compliant(self) -> bool:
        return self._compliance.compliant

    @strawberry.field(description="未达到的要求。 The rules not met.")
    def shortfalls(self) -> list[ComplianceRule]:
        return [ComplianceRule(s) for s in self._compliance.shortfalls]


def _start(value: datetime) -> str:
    if value.tzinfo is None:
        raise PayloadInvalid("startTime", "needs a time zone, e.g. 2026-07-01T19:00:00+08:00")
    return format_time(value)


@strawberry.type
class OrganizationLifeMutation:
    @strawberry.mutation(description="记录一次组织生活及每名成员的参加方式和列席人数（一条台账条目；"
                         "每名成员都需 attendance 记录权限）。 Record an organisation-life "
                         "activity with every expected member's attendance and the guests, as "
                         "one ledger entry; needs the `attendance` record permission for each "
                         "member listed, at the caller's own organisation.")
    @ledger_action("organization_life", receipt=OrganizationLifeReceipt)
    async def record_organization_life(
        self, info: Info, organization: strawberry.ID, activity: ActivityInput,
        attendance: list[AttendanceInput], guests: int = 0,
    ) -> Intent:
        payload = OrganizationLife(
            kind=str(activity.kind.value), title=activity.title,
            start_time=_start(activity.start_time), online=activity.online,
            members=tuple(str(a.member_key) for a in attendance),
            modes=tuple(str(a.mode.value) for a in attendance), guests=guests,
            hours=activity.hours)
        payload.validate()  # before the guard resolves hundreds of members
        return Intent(payload, organization=str(organization),
                      also_members=payload.members,
                      effects=(organization_life_effect(payload),))


@strawberry.type
class OrganizationLifeQuery:
    @strawberry.field(description="党组织成员年度组织生活达标情况（默认只列未达标者）。 The yearly "
                      "organisation life of the members of a branch (membership there or "
                      "attending there), by default only those below a rule: at least one "
                      "on-site activity (004) and four activities (002). Counts the records the "
                      "caller may see.")
    async def organization_life_compliance(
        self, info: Info, organization: strawberry.ID, year: int | None = None,
        below_only: bool = True, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[MemberCompliance]:
        ctx: Context = info.context
        code = check_org_code(str(organization), "organization")
        year = year if year is not None else current_year()
        if not 2000 <= year <= 2100:
            raise PayloadInvalid("year", "must be between 2000 and 2100")
        start = datetime(year, 1, 1, tzinfo=CST)
        end = datetime(year + 1, 1, 1, tzinfo=CST)
        members: Any = select(MemberRow.key).where(or_(MemberRow.origin_org_id == code,
                                                       MemberRow.destination_org_id == code))
        scope = ctx.decisions.member_scope()
        if scope is not None and not isinstance(scope, ScopeByRow):
            members = members.where(scope)
        records = (select(AttendanceRow.member_key, AttendanceRow.activity_key,
                          AttendanceRow.mode)
                   .join(ActivityRow, ActivityRow.key == AttendanceRow.activity_key)
                   .where(ActivityRow.start_time >= start, ActivityRow.start_time < end,
                          AttendanceRow.member_key.in_(members),
                          recorded_by_condition(ctx, AttendanceRow.recorded_by,
                                                AttendanceRow.source)))
        sessions = ctx.runtime.session_factory
        async with sessions() as session:
            keys = list(await session.scalars(members.order_by(MemberRow.name, MemberRow.key)))
            rows = (await session.execute(records)).all()
        # an absence reported to the origin branch (双报) counts as taking part by report
        reported = await absences_by_report(sessions, sorted({r.activity_key for r in rows}))
        modes: dict[str, list[str]] = {k: [] for k in keys}
        for key, activity, mode in rows:
            if key is None:
                continue
            modes[key].append(with_report(mode or "", key in reported.get(activity, ())))
        found = [compliance(k, year, modes[k]) for k in keys]
        if below_only:
            found = [c for c in found if not c.compliant]

        async def count() -> int:
            return len(found)

        limits = ctx.runtime.limits
        offset, limit = await relay_window(first, after, last, before,
                                           default=limits.default_page_size,
                                           maximum=limits.max_page_size, count=count)
        items = [MemberCompliance(_compliance=c) for c in found[offset:offset + limit + 1]]
        return Connection.build(items, offset, limit, count)


QUERY_TYPES = (OrganizationLifeQuery,)
MUTATION_TYPES = (OrganizationLifeMutation,)
