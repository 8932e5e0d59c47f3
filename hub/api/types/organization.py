"""`Organization`: party organisations from the index (non-personal, kept whole at sync)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import or_
from strawberry.types import Info

from hub.api.pages import fetch_member_page
from hub.api.types.enums import MemberStatus, OrganizationKind, to_enum
from hub.api.types.node import Node, to_global_id
from hub.api.types.pagination import Connection, page_window
from hub.api.types.policed import PolicedObject
from hub.api.types.region import Region, region
from hub.store.models import MemberRow, OrganizationRow

if TYPE_CHECKING:
    from hub.api.context import Context
    from hub.api.types.member import Member, SourceRecord

__all__ = ["Organization", "organization_by_code"]

_Member = Annotated["Member", strawberry.lazy("hub.api.types.member")]
_SourceRecord = Annotated["SourceRecord", strawberry.lazy("hub.api.types.member")]


@strawberry.type(description="党组织：流出地党支部、流动党员党支部、流入地党支部或党委。 A party "
                 "organisation: origin branch, floating-member branch (流动党员党支部), "
                 "destination branch or committee.")
class Organization(Node, PolicedObject):
    code: strawberry.ID = strawberry.field(description="组织代码（各系统共用）。 Organisation "
                                           "code, the same in every system.")
    _row: strawberry.Private[OrganizationRow | None] = None
    _fallback_name: strawberry.Private[str | None] = None

    def policy_owner(self, ctx: Context, field: str) -> str | None:
        sources: list[dict[str, Any]] = (self._row.sources if self._row else None) or []
        return ctx.runtime.registry.owner_of(sources[0].get("system", "")) if sources else None

    @strawberry.field(description="全局 ID。 Relay global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Organization", self.code))

    @strawberry.field(description="名称。 Name.")
    def name(self) -> str | None:
        return self._row.name if self._row else self._fallback_name

    @strawberry.field(description="类型。 Kind of organisation.")
    def kind(self) -> OrganizationKind | None:
        return to_enum(OrganizationKind, self._row.kind if self._row else None)

    @strawberry.field(description="所在区划。 Region it is in.")
    def region(self) -> Region | None:
        return region(self._row.region_code if self._row else None)

    @strawberry.field(description="上级党组织。 Parent organisation.")
    async def parent(self, info: Info) -> Organization | None:
        return await organization_by_code(info, self._row.parent_id if self._row else None)

    @strawberry.field(description="书记。 Secretary (书记).")
    def secretary(self) -> str | None:
        return self._row.secretary if self._row else None

    @strawberry.field(description="联系电话（脱敏）。 Contact phone, masked.")
    def contact_phone(self) -> str | None:
        return self._row.contact_phone if self._row else None

    @strawberry.field(description="数据来源。 Provenance: which systems supplied this record.")
    def sources(self, info: Info) -> list[_SourceRecord]:
        from datetime import datetime

        from hub.api.extensions.analysis import list_bound
        from hub.api.types.member import SourceRecord

        ctx: Context = info.context
        bound = list_bound("Organization", "sources", ctx.runtime.limits.max_list_size)
        out = []
        provenance = (self._row.sources if self._row else None) or []
        for s in ctx.bounded(list(provenance), bound, "Organization.sources", info.path):
            fetched = s.get("fetchedAt")
            out.append(SourceRecord(
                system=str(s.get("system")),
                local_id=str(s.get("localId")),
                fetched_at=datetime.fromisoformat(fetched) if isinstance(fetched, str)
                else fetched,
                fields=list(s.get("fields") or []),
                used_fields=list(s.get("fields") or []),
            ))
        return out

    @strawberry.field(description="成员：组织关系在此或在此参加组织生活的流动党员。 Members whose "
                      "membership is here or who attend here.")
    async def members(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: MemberStatus | None = None,
    ) -> Connection[_Member]:
        from hub.api.types.resolve import members_from_rows

        ctx: Context = info.context
        limits = ctx.runtime.limits
        offset, limit = page_window(
            first, after, default=limits.default_page_size, maximum=limits.max_page_size
        )
        conditions = [or_(MemberRow.origin_org_id == self.code,
                          MemberRow.destination_org_id == self.code)]
        if status is not None:
            conditions.append(MemberRow.status == status.value)
        page = await fetch_member_page(ctx, conditions, offset, limit)
        items = await members_from_rows(ctx, page.rows, limit)
        return Connection.build(items, offset, limit, page.count)


async def organization_by_code(
    info: Info, code: str | None, *, fallback_name: str | None = None
) -> Organization | None:
    """The organisation with `code`; a stub named by the member's record when not indexed."""
    if not code:
        return None
    ctx: Context = info.context
    row = await ctx.loaders.organizations.load(code)
    if row is None and fallback_name is None:
        return None
    return Organization(code=strawberry.ID(code), _row=row, _fallback_name=fallback_name)
