"""Points (积分) for 一领 tasks and volunteer service, with the rule that made each point.

The articles' points are service points a member earns and later exchanges for benefits
(002, 鹿城区), and public commitments such as 每周2小时志愿服务 (001) are kept by volunteer
hours. The hub awards points only by a rule named here, so every point in a member's ledger
says why it exists (`PointAward.rule`), and the same facts always give the same points:
- `task_confirmed`: the publisher confirmed the member's completion of a task: the task's
  own points (set when it was published, `MAX_TASK_POINTS` at most);
- `volunteer_hour`: the member took part (on site or online) in a volunteer-service activity:
  `POINTS_PER_VOLUNTEER_HOUR` per hour, hours in half-hour steps.
The rules are pure functions over plain values; `award` stores one in the transaction of the
ledger entry that earned it (hub.exchange.tables.PointRow).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.exchange.schedule import CST
from hub.exchange.tables import PointRow

__all__ = ["PointRule", "PointAward", "RULE_TEXT", "POINTS_PER_VOLUNTEER_HOUR",
           "MAX_TASK_POINTS", "MAX_VOLUNTEER_HOURS", "task_points", "volunteer_points",
           "check_hours", "award"]

#: points per hour of volunteer service (hours come in half-hour steps, so points are whole)
POINTS_PER_VOLUNTEER_HOUR = 2
#: the most points one task may carry (a publisher cannot mint points without bound)
MAX_TASK_POINTS = 100
#: the longest volunteer-service activity counted, in hours
MAX_VOLUNTEER_HOURS = 24.0


class PointRule(enum.StrEnum):
    TASK_CONFIRMED = "task_confirmed"
    VOLUNTEER_HOUR = "volunteer_hour"


#: the rule as the ledger and the statistics explain it, Chinese first
RULE_TEXT: dict[PointRule, str] = {
    PointRule.TASK_CONFIRMED: "一领任务经发布方确认完成，计任务分值。 A task the publisher "
    "confirmed as done: the task's points.",
    PointRule.VOLUNTEER_HOUR: f"志愿服务每小时计{POINTS_PER_VOLUNTEER_HOUR}分（现场或线上参加）。 "
    f"Volunteer service: {POINTS_PER_VOLUNTEER_HOUR} points per hour attended.",
}


@dataclass(frozen=True, slots=True)
class PointAward:
    """Points one ledger entry earned one member, under one rule, in one year."""

    member_key: str
    points: int
    rule: PointRule
    year: int
    entry_id: int
    awarded_at: datetime


def task_points(points: int) -> int:
    """The points a task carries, checked: a whole number in 0..MAX_TASK_POINTS."""
    if isinstance(points, bool) or not isinstance(points, int) or \
            not 0 <= points <= MAX_TASK_POINTS:
        raise ValueError(f"points must be a whole number from 0 to {MAX_TASK_POINTS}")
    return points


def check_hours(hours: float) -> float:
    """Volunteer hours, checked: more than 0, at most MAX_VOLUNTEER_HOURS, in half hours."""
    if isinstance(hours, bool) or not isinstance(hours, int | float) or \
            not 0 < hours <= MAX_VOLUNTEER_HOURS or (hours * 2) != int(hours * 2):
        raise ValueError(f"hours must be more than 0 and at most {MAX_VOLUNTEER_HOURS:g}, "
                         "in half-hour steps (e.g. 1.5)")
    return float(hours)


def volunteer_points(hours: float) -> int:
    """Points for `hours` of volunteer service (`volunteer_hour`)."""
    return int(check_hours(hours) * 2) * POINTS_PER_VOLUNTEER_HOUR // 2


async def award(conn: AsyncConnection, *, member_key: str, points: int, rule: PointRule,
                entry_id: int, organization: str, party: str, at: datetime) -> None:
    """Store one award in the entry's transaction (idempotent per entry, member and rule).
    The year is the year in China time of the entry that earned it."""
    if points <= 0:
        return
    await conn.execute(insert(PointRow).values(
        member_key=member_key, year=at.astimezone(CST).year, points=points, rule=rule.value,
        entry_id=entry_id, organization=organization, party=party, awarded_at=at))
