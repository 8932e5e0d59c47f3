"""Per-request DataLoaders: one SQL query per batch of keys, one source read per batch.

Created lazily on the request's `Context`, so a batch never mixes two callers and a cache never
outlives its request (strawberry `docs/guides/dataloaders.md`). Each batch function returns one
slot per key, in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from hub.api.context import Context
from connectors.base import Record
from hub.api.extensions.fields import MEMBER_FIELDS, canonical_member_fields
from hub.errors import LimitExceeded
from hub.federation.fetch import Link, LiveFetcher, MergedMember
from hub.store.models import (
    ActivityRow,
    AttendanceRow,
    MemberRow,
    OrganizationRow,
    SourceLinkRow,
)

__all__ = ["Loaders"]

K = TypeVar("K")


class _PolicedFetcher(LiveFetcher):
    """Asks each source only for the fields the caller may read from that source's owner
    (`may_read`, when the policy offers it); a source with nothing readable is not asked at
    all. `LiveFetcher.read_batch` strips whatever a source sends beyond the request."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx.runtime.registry)
        self.ctx = ctx
        self._allowed: dict[str | None, frozenset[str]] = {}

    def _readable(self, owner: str | None) -> frozenset[str]:
        found = self._allowed.get(owner)
        if found is None:
            may_read = self.ctx.active_policy.may_read  # type: ignore[attr-defined]
            found = frozenset(
                canonical for (type_name, name), fields in MEMBER_FIELDS.items()
                if may_read(self.ctx.caller, type_name, name, owner) for canonical in fields
            )
            self._allowed[owner] = found
        return found

    async def read_batch(
        self, source: str, local_ids: Sequence[str], fields: frozenset[str] | None
    ) -> dict[str, Record | None]:
        if hasattr(self.ctx.active_policy, "may_read"):
            readable = self._readable(self.registry.owner_of(source))
            fields = readable if fields is None else fields & readable
            if not fields:
                return {local_id: None for local_id in local_ids}
        return await super().read_batch(source, local_ids, fields)


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.fetcher = _PolicedFetcher(ctx)
        self._members_fetched: set[str] = set()
        self.member_rows = DataLoader[str, MemberRow | None](self._member_rows)
        self.member_links = DataLoader[str, list[Link]](self._member_links)
        self.member_details = DataLoader[str, MergedMember](self._member_details)
        self.organizations = DataLoader[str, OrganizationRow | None](self._organizations)
        self.activities = DataLoader[str, ActivityRow | None](self._activities)
        self.attendance_by_member = DataLoader[str, list[AttendanceRow]](
            self._attendance_by_member
        )
        self.attendance_by_activity = DataLoader[str, list[AttendanceRow]](
            self._attendance_by_activity
        )

    async def _by_pk(self, column: Any, keys: Sequence[str]) -> list[Any]:
        async with self.ctx.runtime.session_factory() as session:
            rows = {getattr(r, column.key): r for r in await session.scalars(
                select(column.class_).where(column.in_(keys))
            )}
        return [rows.get(k) for k in keys]

    async def _grouped(self, column: Any, keys: Sequence[str]) -> list[list[Any]]:
        groups: dict[str, list[Any]] = defaultdict(list)
        async with self.ctx.runtime.session_factory() as session:
            for row in await session.scalars(select(column.class_).where(column.in_(keys))):
                groups[getattr(row, column.key)].append(row)
        return [groups.get(k, []) for k in keys]

    async def _member_rows(self, keys: Sequence[str]) -> list[MemberRow | None]:
        return await self._by_pk(MemberRow.key, keys)

    async def _organizations(self, keys: Sequence[str]) -> list[OrganizationRow | None]:
        return await self._by_pk(OrganizationRow.org_id, keys)

    async def _activities(self, keys: Sequence[str]) -> list[ActivityRow | None]:
        return await self._by_pk(ActivityRow.key, keys)

    async def _attendance_by_member(self, keys: Sequence[str]) -> list[list[AttendanceRow]]:
        return await self._grouped(AttendanceRow.member_key, keys)

    async def _attendance_by_activity(self, keys: Sequence[str]) -> list[list[AttendanceRow]]:
        return await self._grouped(AttendanceRow.activity_key, keys)

    async def _member_links(self, keys: Sequence[str]) -> list[list[Link]]:
        groups: dict[str, list[Link]] = defaultdict(list)
        async with self.ctx.runtime.session_factory() as session:
            rows = await session.execute(
                select(SourceLinkRow.member_key, SourceLinkRow.source, SourceLinkRow.local_id)
                .where(SourceLinkRow.member_key.in_(keys), SourceLinkRow.entity == "member")
                .order_by(SourceLinkRow.id)
            )
            for member_key, source, local_id in rows:
                groups[member_key].append(Link(source, local_id))
        return [groups.get(k, []) for k in keys]

    async def _member_details(self, keys: Sequence[str]) -> list[MergedMember | BaseException]:
        limit = self.ctx.runtime.limits.max_members_per_request
        per_contract = getattr(self.ctx.active_policy, "max_members_per_request", None)
        if per_contract is not None:
            # the tightest `limits.max_members_per_request` of the contracts in play
            limit = min(limit, per_contract(self.ctx.caller) or limit)
        self._members_fetched.update(keys)
        if len(self._members_fetched) > limit:
            error = LimitExceeded(f"at most {limit} members' details per request")
            return [error for _ in keys]
        links = await self.member_links.load_many(keys)
        plan = self.ctx.plan
        fields = canonical_member_fields(plan.requested) if plan is not None else None
        result = await self.fetcher.fetch_members(dict(zip(keys, links)), fields)
        return [result.members[k] for k in keys]
