"""Who studies on the demo's study platform (学习强国-like), and what they finished there.

The platform is an auxiliary system: members register themselves (so its names follow the
member's own typing, and its phone numbers are the newest), it keeps no membership facts, and
it records each course a member finished (学习记录: course, platform, hours, completed at,
score). Everything derives from the person's index, so the platform, the tests and the demo
agree without a lookup table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.demo.model import Person

__all__ = ["StudyMember", "StudyRecord", "studies", "study_records", "study_local_id",
           "study_name",
           "COURSES", "PLATFORMS"]

COURSES: tuple[str, ...] = (
    "习近平新时代中国特色社会主义思想学习纲要",
    "中国共产党章程",
    "党史学习教育专题",
    "党的二十大报告精神解读",
    "《中国共产党纪律处分条例》学习",
    "乡村振兴政策解读",
    "流动党员教育管理专题",
    "新时代党员先锋模范作用",
)
#: the platform a record was earned on, as the study platform names it (it imports some
#: records from partner platforms)
PLATFORMS: tuple[str, ...] = ("学习强国", "学习强国", "学习强国", "共产党员网")
_T0 = datetime(2023, 1, 2, 1, 30, tzinfo=UTC)
#: the platform's records are newer than every record system's: it is the last to change
_UPDATED_T0 = datetime(2024, 6, 29, 0, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StudyMember:
    """A member's account on the study platform."""

    person: Person
    local_id: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StudyRecord:
    """One finished course (学习记录)."""

    local_id: str
    member: StudyMember
    course: str
    platform: str
    hours: float
    completed_at: datetime
    score: float | None
    updated_at: datetime


def study_name(person: Person) -> str:
    """The name as the member typed it when registering: the destination clerk's spelling,
    and for one in three a form of address the systems of record never hold."""
    return f"{person.destination_name}同志" if person.index % 3 == 0 else \
        person.destination_name


def study_local_id(person: Person) -> str:
    return f"u{(person.index * 48271 + 11) % 1_000_000_000:09d}"


def studies(person: Person) -> bool:
    """Three in four members with an origin system have an account on the platform."""
    return person.origin_system is not None and person.index % 4 != 3


def study_records(member: StudyMember) -> Iterator[StudyRecord]:
    """0 to 4 finished courses, in 2023 and 2024 (so yearly hours differ by year)."""
    i = member.person.index
    for k in range(i % 5):
        completed = _T0 + timedelta(days=(i * 37 + k * 101) % 540, hours=(i + k) % 10)
        yield StudyRecord(
            local_id=f"sr{i:07d}{k}",
            member=member,
            course=COURSES[(i + k * 3) % len(COURSES)],
            platform=PLATFORMS[(i + k) % len(PLATFORMS)],
            hours=((i * 7 + k * 3) % 6 + 1) * 0.5,
            completed_at=completed,
            score=None if k == 3 else float(60 + (i * 13 + k * 7) % 41),
            updated_at=completed + timedelta(days=1),
        )


def study_member(person: Person) -> StudyMember:
    return StudyMember(person, study_local_id(person),
                       _UPDATED_T0 + timedelta(minutes=person.index % 1000))
