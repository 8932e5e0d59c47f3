"""Turning index rows into API objects, with row scope applied on every path.

`member_from_row` is the only way a `Member` is made, so `member(key:)`, `node(id:)`,
connections and nested relations all hide out-of-scope members the same way: as if they did
not exist.
"""

from __future__ import annotations

from strawberry.types import Info

from hub.api.context import Context
from hub.api.scope import subject_of
from hub.api.types.member import Member
from hub.store.models import MemberRow

__all__ = ["member_from_row", "member_by_key"]


def member_from_row(ctx: Context, row: MemberRow | None) -> Member | None:
    if row is None:
        return None
    subject = subject_of(row)
    if not ctx.active_policy.can_see(ctx.caller, subject):
        return None
    return Member(key=row.key, _subject=subject)


async def member_by_key(info: Info, key: str | None) -> Member | None:
    if not key:
        return None
    ctx: Context = info.context
    return member_from_row(ctx, await ctx.loaders.member_rows.load(key))
