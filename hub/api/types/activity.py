"""`Activity`: organisation-life records (三会一课, 主题党日 ...) from the index."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from hub.api.types.enums import ActivityKind, to_enum
from hub.api.types.node import Node, to_global_id
from hub.policy.base import Transform
from hub.store.models import ActivityRow, AttendanceRow

if TYPE_CHECKING:
    from hub.api.context import Context
    from hub.api.types.member import Attendance
    from hub.api.types.organization import Organization

__all__ = ["Activity", "AttendanceSummary", "activity_by_key", "recorder_of"]

_Organization = Annotated["Organization", strawberry.lazy("hub.api.types.organization")]
_Attendance = Annotated["Attendance", strawberry.lazy("hub.api.types.member")]


def recorder_of(ctx: Context, row: ActivityRow | AttendanceRow) -> str | None:
    """The party whose record an activity or attendance row is: the party that recorded it
    through the exchange ledger (hub.exchange.orglife), else the owner of its source."""
    return row.recorded_by or ctx.runtime.registry.owner_of(row.source)


@strawberry.type(description="出勤汇总（应到/实到/请假/线上/列席）。 Attendance summary: expected, "
                 "present, excused, online and guests.")
class AttendanceSummary:
    expected: int | None = strawberry.field(description="应到人数。 Expected.")
    present: int | None = strawberry.field(description="实到人数（现场）。 Present on site.")
    excused: int | None = strawberry.field(description="请假人数。 Excused.")
    online: int | None = strawberry.field(description="线上参加人数。 Attended online.")
    guests: int | None = strawberry.field(description="列席人数（如流动党员党支部来人）。 Guests.")
    by_report: int | None = strawberry.field(
        default=None, description="以报告代参加人数（双报）。 Attended by a report to the origin "
        "branch instead (counts as attending, 004).")

    @strawberry.field(description="参与率 =（实到 + 线上 + 以报告代参加）/ 应到，0–1。 "
                      "Participation rate = (present + online + by report) / expected, 0..1; "
                      "online attendance and reports count.")
    def participation_rate(self) -> float | None:
        if not self.expected or self.present is None:
            return None
        attended = self.present + (self.online or 0) + (self.by_report or 0)
        return min(1.0, attended / self.expected)


def _summary(figures: dict[str, int | None]) -> AttendanceSummary:
    by_report = figures.pop("byReport", None)
    return AttendanceSummary(**figures, by_report=by_report)


@strawberry.type(description="组织生活活动。 An organisation-life activity (三会一课, 主题党日, "
                 "组织生活会, 民主评议, 志愿服务, 培训).")
class Activity(Node):
    _row: strawberry.Private[ActivityRow]

    @strawberry.field(description="全局 ID。 Relay global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Activity", self._row.key))

    @strawberry.field(description="活动类型。 Kind of activity.")
    def kind(self) -> ActivityKind | None:
        return to_enum(ActivityKind, self._row.kind)

    @strawberry.field(description="标题。 Title.")
    def title(self) -> str | None:
        return self._row.title

    @strawberry.field(description="开始时间。 Start time (UTC).")
    def start_time(self) -> datetime | None:
        return self._row.start_time

    @strawberry.field(description="是否线上举行。 Held online (true) or on site (false).")
    def online(self) -> bool | None:
        return self._row.online

    @strawberry.field(description="记录该活动的系统。 The system that recorded it.")
    def system(self) -> str:
        return self._row.source

    @strawberry.field(description="组织者（党组织）。 Organiser.")
    async def organiser(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        return await organization_by_code(info, self._row.org_id)

    @strawberry.field(description="出勤汇总：记录方本方或协议授予时为原始数字，否则只统计调用方可见的"
                      "参加人员。 Attendance summary with participation rate: the recorded "
                      "figures for the recording party or when a contract grants them, else "
                      "counted over the attendees the caller may see.")
    async def attendance(self, info: Info) -> AttendanceSummary:
        ctx: Context = info.context
        r = self._row
        recorded = {"expected": r.expected, "present": r.present, "excused": r.excused,
                    "online": r.online_count, "guests": r.guests}
        if r.by_report is not None:  # recorded through the ledger (sources do not count it)
            recorded["byReport"] = r.by_report
        granted = ctx.decisions.aggregate_granted
        owner = recorder_of(ctx, r)
        if all(granted("AttendanceSummary", f, owner) for f in recorded):
            return _summary(recorded)
        # the figures count members the caller may not see: count only those it may
        seen = [a.mode for a in await visible_attendance(ctx, r.key)]
        counted = {"expected": len(seen), "present": seen.count("present"),
                   "excused": seen.count("excused"), "online": seen.count("online"),
                   "guests": None, "byReport": seen.count("by_report")}
        return _summary({f: recorded[f] if granted("AttendanceSummary", f, owner)
                         else counted[f] for f in recorded})

    @strawberry.field(description="参加人员（仅调用方可见的成员）。 Attendees the caller may see, "
                      "with how each took part.")
    async def attendees(self, info: Info) -> list[_Attendance]:
        from hub.api.types.member import Attendance

        ctx: Context = info.context
        rows = ctx.bounded(await visible_attendance(ctx, self._row.key),
                           ctx.runtime.limits.max_list_size, "Activity.attendees", info.path)
        return [Attendance(_row=r) for r in rows]


async def visible_attendance(ctx: Context, activity_key: str) -> list[AttendanceRow]:
    """The attendance entries of an activity the caller may see. An entry says that one
    member took part, which is that member's organisation life (`Member.activities`): it is
    shown when the recording party is the caller, or when the caller may see the member and
    is granted its activities from the recording party. Hidden members leave no trace."""
    rows = await ctx.loaders.attendance_by_activity.load(activity_key)
    if not rows:
        return []
    from hub.api.loaders import NOT_INDEXED
    from hub.api.scope import subject_of
    from hub.api.types.resolve import owners_of_links

    decisions, caller = ctx.decisions, ctx.caller
    keys = [r.member_key for r in rows if r.member_key]
    index = dict(zip(keys, await ctx.loaders.member_index.load_many(keys)))
    out = []
    for row in rows:
        entry = index.get(row.member_key or "", NOT_INDEXED)
        member, links = entry.row, entry.links
        owner = recorder_of(ctx, row)
        if caller.party is not None and owner == caller.party:
            out.append(row)
            continue
        if member is None:
            continue
        subject = subject_of(member, owners_of_links(ctx, links))
        if decisions.can_see(subject) and decisions.transform(
                subject, "Member", "activities", owner) is not Transform.DENY:
            out.append(row)
    return out


async def activity_by_key(info: Info, key: str | None) -> Activity | None:
    if not key:
        return None
    ctx: Context = info.context
    row = await ctx.loaders.activities.load(key)
    return Activity(_row=row) if row is not None else None
