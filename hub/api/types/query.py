"""The core `Query` type: reads over the index, with live member details.

Other packages' query fields (`contracts`, `accessLog`: hub.api.types.contracts and .audit)
are merged in by `build_schema(extra_query_types=...)`; nothing here needs to change for that.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from hub.api.context import Context
from hub.api.extensions.analysis import list_bound
from hub.api.inputs import check_issue_code, check_org_code, check_source_name, check_text
from hub.api.pages import fetch_member_page, fetch_page, region_condition
from hub.api.types.activity import Activity, activity_by_key
from hub.api.types.enums import ActivityKind, MemberStatus, OrganizationKind
from hub.api.types.matching import MatchCandidate, match_candidates
from hub.api.types.member import Member
from hub.api.types.node import Node, from_global_id
from hub.api.types.organization import Organization, organization_by_code
from hub.api.types.pagination import Connection, page_window
from hub.api.types.resolve import member_by_key, members_from_rows
from hub.api.types.system import DataQualityIssue, Source, issue_subjects
from hub.store.models import ActivityRow, DataIssueRow, MemberRow, OrganizationRow, SyncStateRow

__all__ = ["Query", "MemberFilter", "OrganizationFilter", "ActivityFilter", "DataIssueFilter"]


@strawberry.input(description="成员筛选条件（均为“且”）。 Member filter; all given "
                  "conditions apply.")
class MemberFilter:
    origin_region: str | None = strawberry.field(
        default=None, description="流出地区划代码（省/市代码包含下级）。 Origin region code; a "
        "province or city code includes the divisions under it.")
    origin_organization: str | None = strawberry.field(
        default=None, description="组织关系所在党组织代码。 Code of the organisation holding the "
        "membership.")
    destination_region: str | None = strawberry.field(
        default=None, description="流入地区划代码。 Destination region code.")
    status: MemberStatus | None = strawberry.field(default=None, description="联系状态。 Status.")
    name: str | None = strawberry.field(default=None, description="姓名包含。 Name contains.")


@strawberry.input(description="党组织筛选条件。 Organisation filter.")
class OrganizationFilter:
    kind: OrganizationKind | None = strawberry.field(default=None, description="类型。 Kind.")
    region: str | None = strawberry.field(default=None, description="区划代码。 Region code.")
    parent: str | None = strawberry.field(default=None, description="上级组织代码。 Parent code.")
    name: str | None = strawberry.field(default=None, description="名称包含。 Name contains.")


@strawberry.input(description="活动筛选条件。 Activity filter.")
class ActivityFilter:
    organization: str | None = strawberry.field(
        default=None, description="组织者代码。 Organiser's code.")
    kind: ActivityKind | None = strawberry.field(default=None, description="类型。 Kind.")
    since: datetime | None = strawberry.field(default=None, description="不早于。 Starting at or "
                                               "after.")
    until: datetime | None = strawberry.field(default=None, description="早于。 Starting before.")


@strawberry.input(description="数据质量问题筛选。 Data-quality issue filter.")
class DataIssueFilter:
    system: str | None = strawberry.field(default=None, description="系统。 Source system.")
    code: str | None = strawberry.field(default=None, description="问题代码。 Issue code.")
    include_resolved: bool = strawberry.field(
        default=False, description="包括已解决的问题。 Include issues no longer seen.")


def _window(ctx: Context, first: int | None, after: str | None) -> tuple[int, int]:
    limits = ctx.runtime.limits
    return page_window(first, after, default=limits.default_page_size,
                       maximum=limits.max_page_size)


@strawberry.type(description="雁行查询入口。 Yanxing queries.")
class Query:
    @strawberry.field(description="按成员键查询；不存在或无权查看时为空。 A member by key; null "
                      "when there is none or the caller may not see it.")
    async def member(self, info: Info, key: strawberry.ID) -> Member | None:
        return await member_by_key(info, str(key))

    @strawberry.field(description="成员列表（可筛选、分页）。 Members, filtered and paged.")
    async def members(
        self,
        info: Info,
        filter: MemberFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Member]:
        ctx: Context = info.context
        offset, limit = _window(ctx, first, after)
        f = filter or MemberFilter()
        conditions = []
        if f.origin_region:
            conditions.append(region_condition(MemberRow.origin_region_code, f.origin_region,
                                               "filter.originRegion"))
        if f.destination_region:
            conditions.append(region_condition(
                MemberRow.destination_region_code, f.destination_region,
                "filter.destinationRegion"))
        if f.origin_organization:
            code = check_org_code(f.origin_organization, "filter.originOrganization")
            conditions.append(MemberRow.origin_org_id == code)
        if f.status is not None:
            conditions.append(MemberRow.status == f.status.value)
        if f.name:
            name = check_text(f.name, "filter.name")
            conditions.append(MemberRow.name.contains(name, autoescape=True))
        page = await fetch_member_page(ctx, conditions, offset, limit)
        items = await members_from_rows(ctx, page.rows, limit)
        return Connection.build(items, offset, limit, page.count)

    @strawberry.field(description="按组织代码查询党组织。 An organisation by its code.")
    async def organization(self, info: Info, code: strawberry.ID) -> Organization | None:
        return await organization_by_code(info, str(code))

    @strawberry.field(description="党组织列表。 Organisations, filtered and paged.")
    async def organizations(
        self,
        info: Info,
        filter: OrganizationFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Organization]:
        ctx: Context = info.context
        offset, limit = _window(ctx, first, after)
        f = filter or OrganizationFilter()
        stmt = select(OrganizationRow)
        if f.kind is not None:
            stmt = stmt.where(OrganizationRow.kind == f.kind.value)
        if f.region:
            stmt = stmt.where(region_condition(OrganizationRow.region_code, f.region,
                                               "filter.region"))
        if f.parent:
            stmt = stmt.where(
                OrganizationRow.parent_id == check_org_code(f.parent, "filter.parent"))
        if f.name:
            name = check_text(f.name, "filter.name")
            stmt = stmt.where(OrganizationRow.name.contains(name, autoescape=True))
        page = await fetch_page(ctx, stmt, (OrganizationRow.org_id,), offset, limit)
        items = [Organization(code=strawberry.ID(r.org_id), _row=r) for r in page.rows]
        return Connection.build(items, offset, limit, page.count)

    @strawberry.field(description="组织生活活动列表，按时间倒序。 Activities, newest first.")
    async def activities(
        self,
        info: Info,
        filter: ActivityFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Activity]:
        ctx: Context = info.context
        offset, limit = _window(ctx, first, after)
        f = filter or ActivityFilter()
        stmt = select(ActivityRow)
        if f.organization:
            stmt = stmt.where(
                ActivityRow.org_id == check_org_code(f.organization, "filter.organization"))
        if f.kind is not None:
            stmt = stmt.where(ActivityRow.kind == f.kind.value)
        if f.since is not None:
            stmt = stmt.where(ActivityRow.start_time >= f.since)
        if f.until is not None:
            stmt = stmt.where(ActivityRow.start_time < f.until)
        order = (ActivityRow.start_time.desc(), ActivityRow.key)
        page = await fetch_page(ctx, stmt, order, offset, limit)
        return Connection.build([Activity(_row=r) for r in page.rows], offset, limit, page.count)

    @strawberry.field(description="按全局 ID 获取任意对象。 Refetch any object by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, key = from_global_id(str(id))
        if type_name == "Member":
            return await member_by_key(info, key)
        if type_name == "Organization":
            return await organization_by_code(info, key)
        if type_name == "Activity":
            return await activity_by_key(info, key)
        return None

    @strawberry.field(description="接入的系统及其健康与同步状态。 Connected systems with "
                      "health and last sync; `ping: true` checks each one now.")
    async def sources(self, info: Info, ping: bool = False) -> list[Source]:
        ctx: Context = info.context
        registry = ctx.runtime.registry
        if ping:
            await registry.ping_all(max_age=ctx.runtime.limits.health_cache_seconds)
        async with ctx.runtime.session_factory() as session:
            rows = list(await session.scalars(select(SyncStateRow)))
        by_source: dict[str, list[SyncStateRow]] = {}
        for row in rows:
            by_source.setdefault(row.source, []).append(row)
        limit = ctx.runtime.limits.max_list_size
        entries = ctx.bounded(list(registry), list_bound("Query", "sources", limit),
                              "Query.sources", info.path)
        sync_bound = list_bound("Source", "sync", limit)
        granted = ctx.decisions.aggregate_granted

        def counts(owner: str | None) -> bool:
            # without contracts everything; under contracts the owner's (or granted) only
            return granted("SyncInfo", "recordsSeen", owner)

        return [Source.from_entry(e, by_source.get(e.name, [])[:sync_bound], counts(e.owner))
                for e in entries]

    @strawberry.field(description="数据质量问题（坏行、坏值），直到源系统修正。 Data-quality "
                      "issues found in the sources, visible until fixed there.")
    async def data_quality_issues(
        self,
        info: Info,
        filter: DataIssueFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[DataQualityIssue]:
        ctx: Context = info.context
        offset, limit = _window(ctx, first, after)
        f = filter or DataIssueFilter()
        stmt = select(DataIssueRow)
        if f.system:
            stmt = stmt.where(DataIssueRow.source == check_source_name(f.system, "filter.system"))
        if f.code:
            stmt = stmt.where(DataIssueRow.code == check_issue_code(f.code, "filter.code"))
        if not f.include_resolved:
            stmt = stmt.where(DataIssueRow.resolved_at.is_(None))
        # row scope, as for members: its own sources' issues, others' only for members a
        # contract lets the caller see (counts included)
        scope = ctx.decisions.issue_scope()
        if scope is not None:
            stmt = stmt.where(scope)
        order = (DataIssueRow.source, DataIssueRow.location, DataIssueRow.row, DataIssueRow.id)
        page = await fetch_page(ctx, stmt, order, offset, limit)
        subjects = await issue_subjects(ctx, page.rows[:limit])
        items = [DataQualityIssue.from_row(r, subjects.get((r.source, r.local_id)))
                 for r in page.rows]
        return Connection.build(items, offset, limit, page.count)

    @strawberry.field(description="疑似匹配（撞库摸排）：无有效身份证号的记录及其可能对应的党员，"
                      "待人工确认。 Records without a valid ID number with the members they may "
                      "be, for a person to confirm.")
    async def member_match_candidates(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> list[MatchCandidate]:
        ctx: Context = info.context
        _, limit = _window(ctx, first, None)
        return await match_candidates(info, max(limit, 1), after)
