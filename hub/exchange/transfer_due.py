"""The thresholds of the articles as checks: which members are due for which step.

- away more than 3 months -> attach to a destination branch (000, 叙永县): members away from
  their origin region for 3 months or more with no destination branch (流入地党组织) yet:
  step `attach_destination_branch`;
- away more than 6 months without transferring membership -> the village's floating-member
  branch (004): members away for 6 months or more whose membership is still at an ordinary
  origin branch (not a 流动党员党支部) and who have no transfer open or completed: step
  `floating_branch` (or a transfer, 宜转则转).

"Away" is the index's own fact (a destination region other than the origin region); "since"
is the earliest evidence the hub holds of the member being at the destination, read by
`away_since` (the one place to widen when more evidence arrives): a check-in (报到, a ledger
`checkin` entry) or an attendance record of organisation life. A member with no such evidence
has no date and is never listed as due: the check says only what the hub can show.
`due_members` is a query (nothing is written); the API pages it under the caller's row scope.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Select, and_, exists, func, or_, select, union_all
from sqlalchemy.sql import ColumnElement, Subquery

from hub.exchange.ledger import ExchangeEntryRow
from hub.exchange.transfers import TransferRow
from hub.store.models import ActivityRow, AttendanceRow, MemberRow, OrganizationRow

__all__ = ["DueStep", "THRESHOLD_MONTHS", "away_since", "due_members", "months_before"]


class DueStep(enum.StrEnum):
    ATTACH_DESTINATION_BRANCH = "attach_destination_branch"
    FLOATING_BRANCH = "floating_branch"


#: months away after which each step is due (000: 三个月以上; 004: 半年以上)
THRESHOLD_MONTHS: dict[DueStep, int] = {
    DueStep.ATTACH_DESTINATION_BRANCH: 3,
    DueStep.FLOATING_BRANCH: 6,
}


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the month's end)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def away_since(attendance_sources: Sequence[str] | None = None) -> Subquery:
    """(member_key, since): the earliest evidence of each member at the destination.
    `attendance_sources`: only attendance recorded by these sources counts (the ones whose
    organisation-life records the asking party may see), None: all."""
    attended = select(AttendanceRow.member_key.label("member_key"),
                      ActivityRow.start_time.label("at")) \
        .join(ActivityRow, ActivityRow.key == AttendanceRow.activity_key) \
        .where(AttendanceRow.member_key.is_not(None), ActivityRow.start_time.is_not(None))
    if attendance_sources is not None:
        attended = attended.where(AttendanceRow.source.in_(sorted(attendance_sources)))
    evidence = union_all(
        select(ExchangeEntryRow.member_key.label("member_key"),
               ExchangeEntryRow.recorded_at.label("at"))
        .where(ExchangeEntryRow.action == "checkin", ExchangeEntryRow.member_key.is_not(None)),
        attended,
    ).subquery("evidence")
    return (select(evidence.c.member_key, func.min(evidence.c.at).label("since"))
            .group_by(evidence.c.member_key).subquery("away_since"))


def _away() -> ColumnElement[bool]:
    return and_(MemberRow.destination_region_code.is_not(None),
                or_(MemberRow.origin_region_code.is_(None),
                    MemberRow.origin_region_code != MemberRow.destination_region_code))


def due_members(step: DueStep, as_of: date, *,
                attendance_sources: Sequence[str] | None = None,
                ) -> tuple[Select[tuple[MemberRow, datetime]], Subquery]:
    """Members due for `step` on `as_of`, with their away-since time, oldest first. Add the
    caller's row scope (a condition on MemberRow) before running it."""
    since = away_since(attendance_sources)
    cutoff = months_before(as_of, THRESHOLD_MONTHS[step])
    cutoff_at = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
    stmt = (select(MemberRow, since.c.since)
            .join(since, since.c.member_key == MemberRow.key)
            .where(_away(), since.c.since <= cutoff_at))
    if step is DueStep.ATTACH_DESTINATION_BRANCH:
        stmt = stmt.where(MemberRow.destination_org_id.is_(None))
    else:
        floating = exists(select(OrganizationRow.org_id).where(
            OrganizationRow.org_id == MemberRow.origin_org_id,
            OrganizationRow.kind == "floating_branch"))
        transferred = exists(select(TransferRow.id).where(
            TransferRow.member_key == MemberRow.key,
            TransferRow.state.in_(("requested", "approved", "accepted", "completed"))))
        stmt = stmt.where(~floating, ~transferred)
    return stmt, since
