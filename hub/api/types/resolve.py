"""Turning index rows into API objects, with row scope applied on every path.

`member_from_row` / `members_from_rows` are the only ways a `Member` is made, so
`member(key:)`, `node(id:)`, connections and nested relations all hide out-of-scope members the
same way: as if they did not exist. The subject handed to the policy carries the parties
owning the member's linked sources (one batched query per request, shared with the live
fetch), so a party always sees its own sources' members.

When the operation asks for any live member field, the members' details are loaded here, in
the same request-wide batch, so their scalar fields resolve synchronously; a batch that fails
(e.g. over the member limit) is left to the fields, which report it at their own path.
"""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.types import Info

from hub.api.context import Context
from hub.api.extensions.fields import canonical_member_fields
from hub.api.loaders import load_all
from hub.api.scope import subject_of
from hub.api.types.member import Member
from hub.federation.fetch import Link
from hub.store.models import MemberRow

__all__ = ["member_from_row", "members_from_rows", "member_by_key", "owners_of_links"]


def owners_of_links(ctx: Context, links: Sequence[Link]) -> frozenset[str]:
    """The parties owning a member's linked sources (a party always sees its own)."""
    owner_of = ctx.runtime.registry.owner_of
    return frozenset(o for o in (owner_of(link.source) for link in links) if o)


_owners = owners_of_links


def _make(ctx: Context, row: MemberRow, links: Sequence[Link]) -> Member | None:
    """The member if the caller may see it; not yet recorded as touched (only members the
    answer shows are: see `members_from_rows`)."""
    subject = subject_of(row, _owners(ctx, links))
    if not ctx.decisions.can_see(subject):
        return None
    return Member(key=strawberry.ID(row.key), _subject=subject, _links=tuple(links))


def _wants_details(ctx: Context) -> bool:
    plan = ctx.plan
    if plan is None:
        return False
    fields = canonical_member_fields(plan.requested)
    return fields is None or bool(fields)


async def _preload(ctx: Context, members: Sequence[Member]) -> None:
    if not members or not _wants_details(ctx):
        return
    loader = ctx.loaders.member_details
    # every load is queued before the first await, so they are one batch; once the first
    # answers the rest are done too and awaiting them does not yield (asyncio.gather's task
    # bookkeeping per member was ~10 Python calls each for nothing)
    pending = [loader.load(m.key) for m in members]
    for member, future in zip(members, pending):
        try:
            member._merged = await future
        except Exception:  # left to the fields, which report it at their own path
            continue


async def member_from_row(ctx: Context, row: MemberRow | None) -> Member | None:
    if row is None:
        return None
    entry = await ctx.loaders.member_index.load(row.key)
    return await _one(ctx, row, entry.links)


async def _one(ctx: Context, row: MemberRow, links: Sequence[Link]) -> Member | None:
    member = _make(ctx, row, links)
    if member is None:
        ctx.access.hidden()
        return None
    ctx.access.touched((member.key,))
    await _preload(ctx, [member])
    return member


async def members_from_rows(ctx: Context, rows: Sequence[MemberRow],
                            limit: int | None = None) -> list[Member]:
    """`limit`: how many of the visible members the answer shows (a page fetches one row more
    to tell whether there is a next page); only those are recorded as touched (audit) and
    have their details loaded (live reads). The rest only say that there is more."""
    index = ctx.loaders.member_index
    links = [entry.links for entry in await load_all(index, [r.key for r in rows])]
    made = (_make(ctx, row, ls) for row, ls in zip(rows, links))
    members = [m for m in made if m is not None]
    shown = members if limit is None else members[:limit]
    ctx.access.touched(m.key for m in shown)
    await _preload(ctx, shown)
    return members


async def member_by_key(info: Info, key: str | None) -> Member | None:
    if not key:
        return None
    ctx: Context = info.context
    entry = await ctx.loaders.member_index.load(key)
    if entry.row is None:
        return None
    return await _one(ctx, entry.row, entry.links)
