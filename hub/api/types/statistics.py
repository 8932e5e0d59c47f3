"""GraphQL for workflow 8: `statistics`, aggregates for provincial departments, never persons.

The rows counted are the policy's `statistics_scope`: an observer party's (e.g. 四川省委组织部)
every member of the contracts it observes, anyone else's own row scope. Cells counting fewer
people than the minimum (`[limits] statistics_min_count`, default 5, never below 3; a query may
ask for more, never less) are suppressed with complementary cells (hub.exchange.suppression).
"""

from __future__ import annotations

import enum
from typing import cast

import strawberry
from strawberry.types import Info

from connectors.regions import region_by_code
from hub.api.context import Context
from hub.api.types.obligations import obligation_instances_for
from hub.api.types.pagination import Connection, relay_window
from hub.api.types.workflow_common import current_year
from hub.exchange import statistics as stats
from hub.exchange.errors import PayloadInvalid
from hub.exchange.suppression import MIN_COUNT_FLOOR
from hub.policy.base import ScopeByRow

__all__ = ["QUERY_TYPES", "StatisticCell", "StatisticsConnection"]


@strawberry.enum(description="统计指标。 What a statistics table measures.")
class StatisticMeasure(enum.Enum):
    MEMBERS_BY_STATUS = strawberry.enum_value(
        "members_by_status", description="按联系状态和区划/党组织统计的党员人数 members by status, "
        "per region or organisation (rows: `groupBy`; columns: status)")
    CHECKIN_RATE = strawberry.enum_value(
        "checkin_rate", description="报到率：当月报到人数/该流入地党组织党员数 check-in rate per "
        "destination organisation and month (count: members attached)")
    PARTICIPATION_RATE = strawberry.enum_value(
        "participation_rate", description="参与率 =（实到+线上+以报告代参加）/应到，按组织者和月份 "
        "participation rate per organiser and month (count: attendance records expected)")
    POINTS = strawberry.enum_value(
        "points", description="积分：按计分党组织和月份的得分人数与分值 points per awarding "
        "organisation and month (count: members awarded; value: points)")
    OBLIGATIONS = strawberry.enum_value(
        "obligations", description="协议义务实例数：按协议和状态（非个人，不抑制） obligation "
        "instances per contract and state (not people: never suppressed)")


@strawberry.enum(description="人数统计的分组。 Rows of the members-by-status table.")
class StatisticDimension(enum.Enum):
    ORIGIN_REGION = strawberry.enum_value("origin_region", description="流出地区划 origin region")
    DESTINATION_REGION = strawberry.enum_value("destination_region",
                                               description="流入地区划 destination region")
    ORIGIN_ORGANIZATION = strawberry.enum_value(
        "origin_organization", description="组织关系所在党组织 origin organisation")
    DESTINATION_ORGANIZATION = strawberry.enum_value(
        "destination_organization", description="流入地党组织 destination organisation")


@strawberry.type(description="统计表的一格；小于最小人数的格被抑制。 One cell of a statistics "
                 "table; a cell of fewer people than the minimum is suppressed (with "
                 "complementary cells, so no total gives it back).")
class StatisticCell:
    row: str = strawberry.field(description="行：区划或党组织代码（协议 ID），合计为“*”。 Row: "
                                "region or organisation code (contract id for obligations); "
                                "\"*\" is the column's total.")
    row_name: str | None = strawberry.field(description="行名称。 The row's name, when known.")
    column: str = strawberry.field(description="列：状态或月份（如 2026-03），合计为“*”。 "
                                   "Column: status, month (2026-03) or state; \"*\" is the "
                                   "row's total.")
    count: int | None = strawberry.field(description="人数（或实例数）；抑制时为空。 People (or "
                                         "instances) behind the cell; null when suppressed.")
    value: float | None = strawberry.field(description="比率（0–1）或积分；抑制时为空。 The rate "
                                           "(0..1) or points; null when suppressed.")
    suppressed: bool = strawberry.field(description="是否被抑制。 Suppressed.")
    total: bool = strawberry.field(description="是否为合计格。 A margin (a total).")


@strawberry.type(description="统计表（分页）。 A statistics table, one page of cells.")
class StatisticsConnection(Connection[StatisticCell]):
    min_count: int = strawberry.field(default=5, description="本表采用的最小人数。 The minimum "
                                      "count this table was suppressed with.")


@strawberry.type
class StatisticsQuery:
    @strawberry.field(description="统计（只有汇总，没有个人）：按党组织、区划和月份，小格抑制。 "
                      "Statistics for provincial departments: aggregates per organisation, "
                      "region and month over the members the caller may count, never persons; "
                      "small cells suppressed.")
    async def statistics(
        self, info: Info, measure: StatisticMeasure, year: int | None = None,
        group_by: StatisticDimension = StatisticDimension.ORIGIN_REGION,
        min_count: int | None = None, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> StatisticsConnection:
        ctx: Context = info.context
        configured = ctx.runtime.limits.statistics_min_count
        if min_count is not None and min_count < configured:
            raise PayloadInvalid("minCount", f"may raise the minimum ({configured}), never "
                                 f"lower it (never below {MIN_COUNT_FLOOR})")
        k = max(configured, min_count or 0)
        year = year if year is not None else current_year()
        if not 2000 <= year <= 2100:
            raise PayloadInvalid("year", "must be between 2000 and 2100")
        scope = ctx.decisions.statistics_scope()
        where = None if isinstance(scope, ScopeByRow) else scope
        sessions = ctx.runtime.session_factory
        m = stats.Measure(str(measure.value))
        if m is stats.Measure.MEMBERS_BY_STATUS:
            cells = await stats.members_by_status(sessions, where,
                                                  stats.Dimension(str(group_by.value)), k)
        elif m is stats.Measure.CHECKIN_RATE:
            cells = await stats.checkin_rates(sessions, where, year, k)
        elif m is stats.Measure.PARTICIPATION_RATE:
            cells = await stats.participation_rates(sessions, where, year, k)
        elif m is stats.Measure.POINTS:
            cells = await stats.points_by_month(sessions, where, year, k)
        else:
            instances = [i for i in await obligation_instances_for(ctx)
                         if i.period_start.astimezone(stats.CST).year == year]
            cells = stats.obligation_counts(instances)

        async def count() -> int:
            return len(cells)

        limits = ctx.runtime.limits
        offset, limit = await relay_window(first, after, last, before,
                                           default=limits.default_page_size,
                                           maximum=limits.max_page_size, count=count)
        regions = m is stats.Measure.MEMBERS_BY_STATUS and group_by in (
            StatisticDimension.ORIGIN_REGION, StatisticDimension.DESTINATION_REGION)
        items = []
        for cell in cells[offset:offset + limit + 1]:
            items.append(StatisticCell(
                row=cell.row, row_name=await _row_name(ctx, cell.row, regions, m),
                column=cell.column, count=cell.count, value=cell.value,
                suppressed=cell.suppressed, total=cell.is_total))
        page = cast(StatisticsConnection,
                    StatisticsConnection.build(items, offset, limit, count))
        page.min_count = k
        return page


async def _row_name(ctx: Context, row: str, regions: bool, measure: stats.Measure) -> str | None:
    if row == stats.ALL or measure is stats.Measure.OBLIGATIONS:
        return None
    if regions:
        found = region_by_code(row)
        return getattr(found, "name", None) if found is not None else None
    org = await ctx.loaders.organizations.load(row)
    return org.name if org is not None else None


QUERY_TYPES = (StatisticsQuery,)
