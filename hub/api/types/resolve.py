"""Turning index rows into API objects, with row scope applied on every path.

`member_from_row` / `members_from_rows` are the only ways a `Member` is made, so
`member(key:)`, `node(id:)`, connections and nested relations all hide out-of-scope members the
same way: as if they did not exist. The subject handed to the policy carries the parties
owning the member's linked sources (one batched query per request, shared with the live
fetch), so a party always sees its own sources' members.
"""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.types import Info

from hub.api.context import Context
from hub.api.scope import subject_of
from hub.api.types.member import Member
from hub.federation.fetch import Link
from hub.store.models import MemberRow

__all__ = ["member_from_row", "members_from_rows", "member_by_key"]


def _owners(ctx: Context, links: Sequence[Link]) -> frozenset[str]:
    owner_of = ctx.runtime.registry.owner_of
    return frozenset(o for o in (owner_of(link.source) for link in links) if o)


def _make(ctx: Context, row: MemberRow, links: Sequence[Link]) -> Member | None:
    subject = subject_of(row, _owners(ctx, links))
    if not ctx.active_policy.can_see(ctx.caller, subject):
        return None
    ctx.members_touched.add(row.key)
    return Member(key=row.key, _subject=subject)


async def member_from_row(ctx: Context, row: MemberRow | None) -> Member | None:
    if row is None:
        return None
    member = _make(ctx, row, await ctx.loaders.member_links.load(row.key))
    if member is None:
        ctx.members_hidden += 1
    return member


async def members_from_rows(ctx: Context, rows: Sequence[MemberRow]) -> list[Member]:
    links = await ctx.loaders.member_links.load_many([r.key for r in rows])
    made = (_make(ctx, row, ls) for row, ls in zip(rows, links))
    return [m for m in made if m is not None]


async def member_by_key(info: Info, key: str | None) -> Member | None:
    if not key:
        return None
    ctx: Context = info.context
    return await member_from_row(ctx, await ctx.loaders.member_rows.load(key))
