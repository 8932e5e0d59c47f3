"""Organisation life (workflow 4): one activity and everyone's attendance, in one entry.

A branch records an activity (三会一课, 主题党日, 组织生活会, 民主评议, 志愿服务, 培训) with each
expected member's attendance (present / online / excused / absent / by report) and the number
of guests (列席, e.g. 10 from a floating-member branch) as ONE ledger entry of action
`organization_life` (contract permission `attendance`, needed for every member listed).

The entry extends the index rather than keeping a second one: its effect writes the activity
and its attendance into the index's `activities` / `attendance` tables (source `@exchange`,
`recorded_by` the recording party), so `Activity`, `Activity.attendees`, `Member.activities`,
participation rates and compliance read ledger-recorded and synced organisation life alike.
A volunteer-service activity gives each member who took part (on site or online) points for
its hours (rule `volunteer_hour`, hub.exchange.points).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.clock import parse_time
from hub.errors import ContractError
from hub.exchange.errors import PayloadInvalid
from hub.exchange.ledger import Effect, Entry
from hub.exchange.participation import AttendanceMode, count_modes
from hub.exchange.payloads import Payload, action, check_choice, check_int, check_text
from hub.exchange.points import PointRule, award, check_hours, volunteer_points
from hub.store.models import ActivityRow, AttendanceRow

__all__ = ["ACTIVITY_KINDS", "LEDGER_SOURCE", "MAX_ATTENDEES", "MAX_GUESTS",
           "OrganizationLife", "organization_life_effect", "activity_key"]

ACTIVITY_KINDS = (
    "branch_member_meeting", "branch_committee_meeting", "party_group_meeting",
    "party_lecture", "themed_party_day", "organization_life_meeting", "democratic_review",
    "volunteer_service", "training",
)
#: the `source` of index rows the ledger wrote (not a valid source name: never a clash)
LEDGER_SOURCE = "@exchange"
MAX_ATTENDEES = 1000
MAX_GUESTS = 10_000
MAX_TITLE = 300
_MODES = tuple(m.value for m in AttendanceMode)
_EARNS_HOURS = frozenset({AttendanceMode.PRESENT.value, AttendanceMode.ONLINE.value})


def activity_key(entry_id: int) -> str:
    """The index key of the activity an `organization_life` entry recorded."""
    return f"{LEDGER_SOURCE}:{entry_id}"


@action("organization_life", permission="attendance")
@dataclass(frozen=True, slots=True)
class OrganizationLife(Payload):
    kind: str
    title: str
    start_time: str
    online: bool
    #: member keys, one per expected member, and how each took part (same order)
    members: tuple[str, ...]
    modes: tuple[str, ...]
    guests: int = 0
    #: volunteer service only: the hours each member who took part served
    hours: float | None = None
    #: who attended is the members' organisation life: read like `Member.activities`
    policed: ClassVar = {"members": ("Member", "activities"),
                         "modes": ("Member", "activities")}

    def validate(self) -> None:
        check_choice("kind", self.kind, ACTIVITY_KINDS)
        check_text("title", self.title, max_length=MAX_TITLE, required=True)
        start_time(self)
        if not self.members:
            raise PayloadInvalid("attendance", "lists no member")
        if len(self.members) > MAX_ATTENDEES:
            raise PayloadInvalid("attendance", f"lists more than {MAX_ATTENDEES} members")
        if len(self.members) != len(self.modes):
            raise PayloadInvalid("attendance", "needs one mode per member")
        if len(set(self.members)) != len(self.members):
            raise PayloadInvalid("attendance", "lists a member twice")
        for mode in self.modes:
            check_choice("attendance.mode", mode, _MODES)
        check_int("guests", self.guests, minimum=0, maximum=MAX_GUESTS)
        if self.hours is not None:
            if self.kind != "volunteer_service":
                raise PayloadInvalid("hours", "only a volunteer_service activity has hours")
            try:
                check_hours(self.hours)
            except ValueError as exc:
                raise PayloadInvalid("hours", str(exc)) from None


def start_time(life: OrganizationLife) -> datetime:
    try:
        return parse_time(life.start_time)
    except ContractError:
        raise PayloadInvalid("startTime", "must be a UTC time like 2026-07-01T11:00:00Z") \
            from None


def organization_life_effect(life: OrganizationLife) -> Effect:
    """Write the activity and its attendance into the index, and volunteer points."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        counts = count_modes(life.modes)
        key = activity_key(entry.id)
        await conn.execute(insert(ActivityRow).values(
            key=key, source=LEDGER_SOURCE, local_id=str(entry.id),
            org_id=entry.organization, kind=life.kind, title=life.title,
            start_time=start_time(life), online=life.online, expected=counts.expected,
            present=counts.present, excused=counts.excused, online_count=counts.online,
            guests=life.guests, by_report=counts.by_report, recorded_by=entry.party,
            fetched_at=entry.recorded_at))
        await conn.execute(insert(AttendanceRow), [
            {"source": LEDGER_SOURCE, "local_id": f"{entry.id}:{i}", "activity_key": key,
             "member_key": member, "mode": mode, "fetched_at": entry.recorded_at,
             "recorded_by": entry.party}
            for i, (member, mode) in enumerate(zip(life.members, life.modes))])
        if life.hours is None:
            return
        points = volunteer_points(life.hours)
        for member, mode in zip(life.members, life.modes):
            if mode in _EARNS_HOURS:
                await award(conn, member_key=member, points=points,
                            rule=PointRule.VOLUNTEER_HOUR, entry_id=entry.id,
                            organization=entry.organization, party=entry.party,
                            at=start_time(life))

    return effect


__all__ += ["start_time"]
