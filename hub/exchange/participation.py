"""Organisation life (组织生活) in figures: attendance modes, participation, yearly compliance.

Attendance is recorded per member as one of five modes. Participation rate is the headline
figure of the articles (000: 应到46, 实到39, 请假7; 80%, 90%):

    participation = (present + online + by_report) / expected

Online attendance by video counts (004), and so does a report to the origin branch when the
member could not attend (双报, 004: "a report counts as attendance"). Excused and absent do not.

Compliance per member per year combines two rules of the articles: at least one on-site
activity a year (004) and at least four activities a year (Hangzhou, 002); a member below
either is listed for the branches (`Compliance.shortfalls`).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["AttendanceMode", "ATTENDED", "ON_SITE", "MIN_ON_SITE_PER_YEAR", "with_report",
           "MIN_ACTIVITIES_PER_YEAR", "Compliance", "participation_rate", "compliance",
           "AttendanceCounts", "count_modes"]

#: at least one on-site activity a year (004)
MIN_ON_SITE_PER_YEAR = 1
#: at least four activities a year (002, Hangzhou)
MIN_ACTIVITIES_PER_YEAR = 4


class AttendanceMode(enum.StrEnum):
    PRESENT = "present"      # 现场参加
    ONLINE = "online"        # 线上参加
    EXCUSED = "excused"      # 请假
    ABSENT = "absent"        # 缺席
    BY_REPORT = "by_report"  # 以报告代参加 (双报)


#: modes that count as taking part
ATTENDED = frozenset({AttendanceMode.PRESENT, AttendanceMode.ONLINE, AttendanceMode.BY_REPORT})
#: modes that count as on site
ON_SITE = frozenset({AttendanceMode.PRESENT})


@dataclass(frozen=True, slots=True)
class AttendanceCounts:
    """One activity's attendance by mode; `expected` is every member recorded for it."""

    present: int = 0
    online: int = 0
    excused: int = 0
    absent: int = 0
    by_report: int = 0

    @property
    def expected(self) -> int:
        return self.present + self.online + self.excused + self.absent + self.by_report

    @property
    def attended(self) -> int:
        return self.present + self.online + self.by_report

    @property
    def rate(self) -> float | None:
        return participation_rate(self.attended, self.expected)


def with_report(mode: str, reported: bool) -> str:
    """The mode that counts: a member recorded excused or absent who reported to the origin
    branch that they could not attend (an absence report, 双报) took part by report (004)."""
    if reported and mode in (AttendanceMode.EXCUSED, AttendanceMode.ABSENT):
        return AttendanceMode.BY_REPORT.value
    return mode


def count_modes(modes: Iterable[str]) -> AttendanceCounts:
    """Counts per mode; an unknown mode is a ValueError (the caller validated them)."""
    counts: Counter[str] = Counter(AttendanceMode(m).value for m in modes)
    return AttendanceCounts(**{m.value: counts[m.value] for m in AttendanceMode})


def participation_rate(attended: int, expected: int) -> float | None:
    """attended / expected in 0..1; None when nobody was expected."""
    if expected <= 0:
        return None
    return min(1.0, attended / expected)


@dataclass(frozen=True, slots=True)
class Compliance:
    """One member's organisation life in one year against the two rules."""

    member_key: str
    year: int
    activities: int  # activities taken part in (present, online or by report)
    on_site: int     # of which on site

    @property
    def shortfalls(self) -> tuple[str, ...]:
        """What the member lacks, as rule ids: `on_site` (004), `activities` (002)."""
        out = []
        if self.on_site < MIN_ON_SITE_PER_YEAR:
            out.append("on_site")
        if self.activities < MIN_ACTIVITIES_PER_YEAR:
            out.append("activities")
        return tuple(out)

    @property
    def compliant(self) -> bool:
        return not self.shortfalls


def compliance(member_key: str, year: int,
               modes: Iterable[str] | Mapping[str, int]) -> Compliance:
    """A member's compliance from the modes of every activity recorded for them that year
    (or from counts per mode)."""
    counts = Counter(modes) if not isinstance(modes, Mapping) else Counter(dict(modes))
    attended = sum(n for m, n in counts.items() if m in ATTENDED)
    on_site = sum(n for m, n in counts.items() if m in ON_SITE)
    return Compliance(member_key, year, attended, on_site)
