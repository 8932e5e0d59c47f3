"""`StudyRecord` (学习记录) and a member's study: `Member.studyRecords` and `Member.studyHours`.

Study records come from study platforms (学习强国-like) and are indexed at sync
(hub.federation.ingest.write_study_records). Each record is one member's education record held
by one party's system, so a member's list shows a record only when the caller may see that
party's `Member.studyRecords` of this member (its own system, or a contract's grant), and the
yearly hours sum only the records of parties whose `Member.studyHours` the caller may see.
Nothing else of another party's records rides along; hidden records leave no trace (not even
in `totalCount`). A grant short of `full` (masked, hashed, year) shows a record's course,
platform and hours but not when it was completed nor its score (an assessment of the person);
hours left short of full are null, a sum having no partial form.

Pages are read in SQL, batched per request: one query per distinct (visible systems, page
window) for the pages, one per distinct visible set for the counts and for the hours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import strawberry
from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from hub.api.types.pagination import Connection, page_window
from hub.policy.base import Subject, Transform
from hub.store.models import StudyRecordRow

if TYPE_CHECKING:
    from hub.api.context import Context

__all__ = ["StudyRecord", "StudyLoaders", "study_records_page", "study_hours",
           "MIN_YEAR", "MAX_YEAR"]

#: `studyHours(year:)` answers for these years; anything else is BAD_USER_INPUT
MIN_YEAR, MAX_YEAR = 1921, 2200

_Visible = tuple[str, ...]


@strawberry.type(description="学习记录：党员在学习平台完成的一门课程。 A study record: one course "
                 "a member finished on a study platform (学习强国-like).")
class StudyRecord:
    _row: strawberry.Private[StudyRecordRow]
    #: shown in full (the caller's own system, or a `full` grant); else no time, no score
    _full: strawberry.Private[bool] = True

    @strawberry.field(description="课程名称。 The course.")
    def course(self) -> str | None:
        return self._row.course

    @strawberry.field(description="学习平台（如学习强国）。 The platform it was studied on.")
    def platform(self) -> str | None:
        return self._row.platform

    @strawberry.field(description="学时。 Study hours credited.")
    def hours(self) -> float | None:
        return self._row.hours

    @strawberry.field(description="完成时间（UTC）。 When it was completed (UTC).")
    def completed_at(self) -> datetime | None:
        value = self._row.completed_at if self._full else None
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @strawberry.field(description="成绩（无考试时为空）。 Score; null when the course had no test.")
    def score(self) -> float | None:
        return self._row.score if self._full else None

    @strawberry.field(description="记录该学习记录的系统。 The system that recorded it.")
    def system(self) -> str:
        return self._row.source


class StudyLoaders:
    """The request's batched study reads (created on `ctx.loaders` on first use)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        #: (member key, visible systems, offset, limit + 1) -> rows of that page
        self.pages: DataLoader[tuple[str, _Visible, int, int], list[StudyRecordRow]] = \
            DataLoader(self._pages)
        #: (member key, visible systems) -> how many records
        self.counts: DataLoader[tuple[str, _Visible], int] = DataLoader(self._counts)
        #: (member key, visible systems, year) -> the hours of that year (None: no record)
        self.hours: DataLoader[tuple[str, _Visible, int], float | None] = \
            DataLoader(self._hours)

    async def _pages(self, keys: Sequence[tuple[str, _Visible, int, int]]
                     ) -> list[list[StudyRecordRow]]:
        groups: dict[tuple[_Visible, int, int], list[str]] = defaultdict(list)
        for member, visible, offset, limit in keys:
            groups[(visible, offset, limit)].append(member)
        found: dict[tuple[str, _Visible, int, int], list[StudyRecordRow]] = defaultdict(list)
        async with self.ctx.runtime.session_factory() as session:
            for (visible, offset, limit), members in groups.items():
                if not visible:
                    continue
                numbered = (
                    select(StudyRecordRow.id, func.row_number().over(
                        partition_by=StudyRecordRow.member_key,
                        order_by=(StudyRecordRow.completed_at.desc(), StudyRecordRow.id),
                    ).label("n"))
                    .where(StudyRecordRow.member_key.in_(members),
                           StudyRecordRow.source.in_(visible))
                    .subquery()
                )
                stmt = (select(StudyRecordRow, numbered.c.n)
                        .join(numbered, numbered.c.id == StudyRecordRow.id)
                        .where(numbered.c.n > offset, numbered.c.n <= offset + limit)
                        .order_by(numbered.c.n))
                for row, _ in (await session.execute(stmt)).all():
                    found[(row.member_key or "", visible, offset, limit)].append(row)
        return [found.get(k, []) for k in keys]

    async def _counts(self, keys: Sequence[tuple[str, _Visible]]) -> list[int]:
        groups: dict[_Visible, list[str]] = defaultdict(list)
        for member, visible in keys:
            groups[visible].append(member)
        counts: dict[tuple[str, _Visible], int] = {}
        async with self.ctx.runtime.session_factory() as session:
            for visible, members in groups.items():
                if not visible:
                    continue
                stmt = (select(StudyRecordRow.member_key, func.count())
                        .where(StudyRecordRow.member_key.in_(members),
                               StudyRecordRow.source.in_(visible))
                        .group_by(StudyRecordRow.member_key))
                for key, count in (await session.execute(stmt)).all():
                    counts[(key or "", visible)] = int(count)
        return [counts.get(k, 0) for k in keys]

    async def _hours(self, keys: Sequence[tuple[str, _Visible, int]]) -> list[float | None]:
        groups: dict[tuple[_Visible, int], list[str]] = defaultdict(list)
        for member, visible, year in keys:
            groups[(visible, year)].append(member)
        sums: dict[tuple[str, _Visible, int], float] = {}
        async with self.ctx.runtime.session_factory() as session:
            for (visible, year), members in groups.items():
                if not visible:
                    continue
                start = datetime(year, 1, 1, tzinfo=UTC)
                end = datetime(year + 1, 1, 1, tzinfo=UTC)
                stmt = (select(StudyRecordRow.member_key, func.sum(StudyRecordRow.hours))
                        .where(StudyRecordRow.member_key.in_(members),
                               StudyRecordRow.source.in_(visible),
                               StudyRecordRow.completed_at >= start,
                               StudyRecordRow.completed_at < end)
                        .group_by(StudyRecordRow.member_key))
                for key, total in (await session.execute(stmt)).all():
                    if total is not None:
                        sums[(key or "", visible, year)] = float(total)
        return [sums.get(k) for k in keys]


def _visible(ctx: Context, subject: Subject, field: str) -> dict[str, bool]:
    """The systems whose `Member.<field>` of this member the caller may see, each with
    whether in full: those of the parties the policy answers anything but DENY for (their
    own, or granted)."""
    registry = ctx.runtime.registry
    transform = ctx.decisions.transform
    out: dict[str, bool] = {}
    for entry in registry:
        decided = transform(subject, "Member", field, registry.owner_of(entry.name))
        if decided is not Transform.DENY:
            out[entry.name] = decided is Transform.FULL
    return out


async def study_records_page(ctx: Context, member_key: str, subject: Subject,
                             first: int | None, after: str | None) -> Connection[StudyRecord]:
    """One page of the member's study records the caller may see, newest first."""
    limits = ctx.runtime.limits
    offset, limit = page_window(first, after, default=limits.default_page_size,
                                maximum=limits.max_page_size)
    shown = _visible(ctx, subject, "studyRecords")
    visible = tuple(sorted(shown))
    study = ctx.loaders.study
    rows = await study.pages.load((member_key, visible, offset, limit + 1)) if limit else []

    async def count() -> int:
        return await study.counts.load((member_key, visible))

    records = [StudyRecord(_row=r, _full=shown[r.source]) for r in rows]
    return Connection.build(records, offset, limit, count)


async def study_hours(ctx: Context, member_key: str, subject: Subject, year: int) -> float | None:
    """The member's study hours completed in `year` (UTC) over the records the caller may see
    the hours of; None when there is none."""
    full = tuple(sorted(s for s, whole in _visible(ctx, subject, "studyHours").items() if whole))
    return await ctx.loaders.study.hours.load((member_key, full, year))
