"""GraphQL for the points ledger (积分台账, workflow 3): `points`, each award with its rule.

A point is a fact about a member's organisation life and tasks, so it is shown as the
member's organisation life is (`Member.activities`): to the party that awarded it, and to a
party that may see the member and is granted the awarding party's organisation-life records
by a contract. The list, its `totalCount` and `totalPoints` count only those.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.sql import ColumnElement
from strawberry.types import Info

from hub.api.context import Context
from hub.api.inputs import check_org_code
from hub.api.types.pagination import Connection
from hub.api.types.workflow_common import partners, relay_page
from hub.clock import as_utc
from hub.exchange.points import RULE_TEXT
from hub.exchange.points import PointRule as DomainRule
from hub.exchange.tables import PointRow
from hub.policy.base import ScopeByRow
from hub.store.models import MemberRow

if TYPE_CHECKING:
    from hub.api.types.member import Member
    from hub.api.types.organization import Organization

__all__ = ["QUERY_TYPES", "PointEntry", "PointsFilter", "PointsConnection", "points_visible"]

_Member = Annotated["Member", strawberry.lazy("hub.api.types.member")]
_Organization = Annotated["Organization", strawberry.lazy("hub.api.types.organization")]


@strawberry.enum(description="积分规则。 The rule that awarded points.")
class PointRule(enum.Enum):
    TASK_CONFIRMED = strawberry.enum_value(
        "task_confirmed", description="一领任务经发布方确认：任务分值 a task the publisher "
        "confirmed: the task's points")
    VOLUNTEER_HOUR = strawberry.enum_value(
        "volunteer_hour", description="志愿服务每小时2分 volunteer service: 2 points an hour")


@strawberry.type(description="一笔积分：成员、年度、分值及其规则。 One award in the points "
                 "ledger: member, year, points and the rule that made them.")
class PointEntry:
    _row: strawberry.Private[PointRow]

    @strawberry.field(description="成员（调用方可见时）。 The member, when the caller may see "
                      "them.")
    async def member(self, info: Info) -> _Member | None:
        from hub.api.types.resolve import member_by_key

        return await member_by_key(info, self._row.member_key)

    @strawberry.field(description="年度（北京时间）。 Year (China time).")
    def year(self) -> int:
        return self._row.year

    @strawberry.field(description="分值。 Points.")
    def points(self) -> int:
        return self._row.points

    @strawberry.field(description="规则。 The rule.")
    def rule(self) -> PointRule:
        return PointRule(self._row.rule)

    @strawberry.field(description="规则说明。 What the rule says.")
    def rule_text(self) -> str:
        return RULE_TEXT[DomainRule(self._row.rule)]

    @strawberry.field(description="计分的党组织。 Awarding organisation.")
    async def organization(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        return await organization_by_code(info, self._row.organization)

    @strawberry.field(description="计分方。 Awarding party.")
    def party(self) -> str:
        return self._row.party

    @strawberry.field(description="产生积分的台账条目编号。 Ledger number of the entry that "
                      "earned it (a task decision, an organisation-life record).")
    def entry_number(self) -> int:
        return self._row.entry_id

    @strawberry.field(description="计分时间。 Awarded at (UTC).")
    def awarded_at(self) -> datetime:
        return as_utc(self._row.awarded_at) or self._row.awarded_at


@strawberry.type(description="积分分页连接，含合计。 A page of the points ledger, with the "
                 "total points of every matching award.")
class PointsConnection(Connection[PointEntry]):
    _sum: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @strawberry.field(description="符合条件的积分合计。 Total points of every matching award the "
                      "caller may see, across all pages.")
    async def total_points(self) -> int:
        return await self._sum() if self._sum is not None else 0


@strawberry.input(description="积分筛选。 Points filter.")
class PointsFilter:
    member_key: strawberry.ID | None = strawberry.field(
        default=None, description="成员键。 Member key.")
    year: int | None = strawberry.field(default=None, description="年度。 Year.")
    organization: str | None = strawberry.field(
        default=None, description="计分的党组织代码。 Awarding organisation's code.")


def points_visible(ctx: Context) -> ColumnElement[bool] | None:
    """Which awards the caller may see, over `PointRow` (module docstring); None: all."""
    party = ctx.caller.party
    if party is None:
        return None if not ctx.decisions.grants_records else false()
    decisions = ctx.decisions
    granted = sorted(p for p in partners(ctx)
                     if decisions.aggregate_granted("Member", "activities", p))
    scope = decisions.member_scope()
    theirs: ColumnElement[bool] = PointRow.party.in_(granted)
    if not isinstance(scope, ScopeByRow) and scope is not None:
        theirs = and_(theirs, PointRow.member_key.in_(select(MemberRow.key).where(scope)))
    return or_(PointRow.party == party, theirs)


def _filtered(ctx: Context, f: PointsFilter) -> Select[Any]:
    stmt = select(PointRow)
    visible = points_visible(ctx)
    if visible is not None:
        stmt = stmt.where(visible)
    if f.member_key:
        stmt = stmt.where(PointRow.member_key == str(f.member_key))
    if f.year is not None:
        stmt = stmt.where(PointRow.year == f.year)
    if f.organization:
        stmt = stmt.where(PointRow.organization ==
                          check_org_code(f.organization, "filter.organization"))
    return stmt


@strawberry.type
class PointsQuery:
    @strawberry.field(description="积分台账（按成员、年度、党组织），新的在前。 The points ledger "
                      "(per member, year, organisation), newest first, each award with its "
                      "rule.")
    async def points(self, info: Info, filter: PointsFilter | None = None,
                     first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None) -> PointsConnection:
        ctx: Context = info.context
        stmt = _filtered(ctx, filter or PointsFilter())
        rows, offset, limit, count = await relay_page(
            ctx, stmt, (PointRow.awarded_at.desc(), PointRow.id.desc()),
            (first, after, last, before))
        page = cast(PointsConnection, PointsConnection.build(
            [PointEntry(_row=r) for r in rows], offset, limit, count))

        async def total() -> int:
            async with ctx.runtime.session_factory() as session:
                n = await session.scalar(select(func.coalesce(func.sum(
                    stmt.subquery().c.points), 0)))
            return int(n or 0)

        page._sum = total
        return page


QUERY_TYPES = (PointsQuery,)
