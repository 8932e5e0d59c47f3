"""What the workflow types (tasks, points, organisation life, obligations, statistics) share:
the caller's contract partners (asked of the request's `Decisions`, never of a policy class),
Relay windows over a SELECT, and the year in China time.

Kept apart so each workflow module says only what is its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from hub.api.context import Context
from hub.api.types.pagination import relay_window
from hub.clock import utcnow
from hub.exchange.schedule import CST

__all__ = ["partners", "relay_page", "current_year", "Window",
           "visible_recorders", "recorded_by_condition"]

Window = tuple[int | None, str | None, int | None, str | None]


def partners(ctx: Context) -> frozenset[str]:
    """The other parties of the rules that apply to the caller (its contracts' parties,
    observers included): whose non-personal records (a published task) it may list, and
    whose organisation-life records it may count where a contract grants them."""
    party = ctx.caller.party
    return frozenset(p for p in ctx.decisions.counterparties() if p != party)


async def relay_page(ctx: Context, stmt: Select[Any], order_by: Sequence[Any],
                     window: Window, *, scalars: bool = True,
                     ) -> tuple[list[Any], int, int, Any]:
    """Rows of `stmt` for a Relay window (first/after or last/before): (rows (limit + 1 at
    most), offset, limit, count). `scalars`: the first column of each row (an ORM object),
    else whole rows."""
    limits = ctx.runtime.limits
    factory = ctx.runtime.session_factory

    async def count() -> int:
        async with factory() as session:
            total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
        return int(total or 0)

    first, after, last, before = window
    offset, limit = await relay_window(first, after, last, before,
                                       default=limits.default_page_size,
                                       maximum=limits.max_page_size, count=count)
    page = stmt.order_by(*order_by).offset(offset).limit(limit + 1)
    async with factory() as session:
        rows = list(await session.scalars(page)) if scalars else \
            list((await session.execute(page)).all())
    return rows, offset, limit, count


def current_year(now: datetime | None = None) -> int:
    return (now or utcnow()).astimezone(CST).year


def visible_recorders(ctx: Context) -> frozenset[str] | None:
    """Parties whose organisation-life records of members the caller may count: its own and
    those a contract grants it (`Member.activities` from them). None: every party's (no
    contracts)."""
    party = ctx.caller.party
    if party is None:
        return None if not ctx.decisions.grants_records else frozenset()
    granted = ctx.decisions.aggregate_granted
    return frozenset({party} | {p for p in partners(ctx)
                                if granted("Member", "activities", p)})


def recorded_by_condition(ctx: Context, recorded_by: Any, source: Any) -> Any:
    """SQL: an activity or attendance row (its `recorded_by` and `source` columns) recorded
    by a party in `visible_recorders` (a synced row belongs to its source's owner)."""
    from sqlalchemy import and_, or_, true

    parties = visible_recorders(ctx)
    if parties is None:
        return true()
    sources = sorted(e.name for e in ctx.runtime.registry if e.owner in parties)
    return or_(recorded_by.in_(sorted(parties)),
               and_(recorded_by.is_(None), source.in_(sources)))
