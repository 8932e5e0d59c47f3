"""Index queries behind the list fields: filter, scope, page and count in SQL.

One SELECT per page and one COUNT (only when `totalCount` is asked), never a query per row.
A page of members reads its members' source links in the same SELECT (the page as a subquery,
LEFT JOIN source_links) and primes the request's member index loader with them, so making the
members costs no further query.
Region filters follow GB/T 2260: a province code (510000) matches its cities and counties, a
city code (510500) its counties, a county code itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement

from hub.api.context import Context
from hub.api.inputs import check_region
from hub.api.scope import visible
from hub.policy.base import ScopeByRow
from hub.store.models import MemberRow, SourceLinkRow

__all__ = ["region_condition", "Page", "fetch_page", "fetch_member_page"]

R = TypeVar("R")


def region_condition(column: InstrumentedAttribute[Any], code: str,
                     argument: str = "region") -> ColumnElement[bool]:
    """Members (or organisations) in region `code`; BAD_USER_INPUT unless it is a 6-digit
    code (the prefix is escaped all the same: a pattern is never built from raw input)."""
    check_region(code, argument)
    if code.endswith("0000"):
        return column.startswith(code[:2], autoescape=True)
    if code.endswith("00"):
        return column.startswith(code[:4], autoescape=True)
    return column == code


@dataclass(slots=True)
class Page:
    rows: list[Any]
    count: Callable[[], Awaitable[int]]


def _counter(factory: async_sessionmaker[AsyncSession],
             stmt: Select[Any]) -> Callable[[], Awaitable[int]]:
    """`totalCount` of `stmt`, asked only when a client selects it."""

    async def count() -> int:
        async with factory() as session:
            total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
        return int(total or 0)

    return count


async def fetch_page(
    ctx: Context, stmt: Select[Any], order_by: Sequence[Any], offset: int, limit: int
) -> Page:
    """Rows `offset .. offset+limit` (+1 to tell whether a next page exists) of `stmt`."""
    factory = ctx.runtime.session_factory
    count = _counter(factory, stmt)

    async with factory() as session:
        result = await session.scalars(
            stmt.order_by(*order_by).offset(offset).limit(limit + 1)
        )
        rows = list(result)
    return Page(rows, count)


async def fetch_member_page(
    ctx: Context, conditions: Sequence[ColumnElement[bool]], offset: int, limit: int
) -> Page:
    """Members matching `conditions` that the caller may see, ordered by name then key."""
    decisions = ctx.decisions
    scope = decisions.member_scope()
    stmt = select(MemberRow).where(*conditions)
    order = (MemberRow.name, MemberRow.key)
    if isinstance(scope, ScopeByRow):  # NO_SQL_SCOPE, a singleton; isinstance narrows the type
        # the policy cannot say its scope in SQL: filter every match in Python (correct, slow)
        async with ctx.runtime.session_factory() as session:
            every = [r for r in await session.scalars(stmt.order_by(*order))
                     if visible(decisions, r)]

        async def count() -> int:
            return len(every)

        return Page(every[offset : offset + limit + 1], count)
    if scope is not None:
        stmt = stmt.where(scope)
    # each row is checked again with its owners where it becomes a Member
    # (hub.api.types.resolve.members_from_rows), so a filter too wide never shows anything
    return await _member_page_with_links(ctx, stmt, offset, limit)


async def _member_page_with_links(
    ctx: Context, stmt: Select[Any], offset: int, limit: int
) -> Page:
    """`fetch_page` for members, with each member's links read in the same SELECT."""
    from hub.api.loaders import member_index_entries, reported_flag

    factory = ctx.runtime.session_factory
    count = _counter(factory, stmt)

    members = MemberRow.__table__
    window = (
        stmt.with_only_columns(*members.c)
        .order_by(MemberRow.name, MemberRow.key).offset(offset).limit(limit + 1)
        .subquery("page")
    )
    links = SourceLinkRow.__table__
    joined = (
        select(*(window.c[c.name] for c in members.c), reported_flag(window.c.key),
               links.c.source, links.c.local_id)
        .select_from(window.outerjoin(
            links, (links.c.member_key == window.c.key) & (links.c.entity == "member")))
        .order_by(window.c.name, window.c.key, links.c.id)
    )
    async with ctx.runtime.engine.connect() as conn:
        entries = member_index_entries((await conn.execute(joined)).all())
    ctx.loaders.prime_members(entries)
    return Page([entry.row for entry in entries.values()], count)
