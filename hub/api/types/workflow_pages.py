"""Relay windows both ways (`first`/`after` and `last`/`before`) for the workflow lists
(letters, transfers, members due for a step), over the offset cursors of
hub.api.types.pagination (the same opaque "cursor:<n>"), with `totalCount` counted lazily.

`last` without `before` counts the rows first (the window's end is the total). Both `first`
and `last` at once is BAD_REQUEST, as the Relay specification discourages it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from hub.api.context import Context
from hub.api.types.pagination import Connection, Edge, PageInfo, decode_cursor, encode_cursor
from hub.errors import LimitExceeded, RequestError

__all__ = ["Window", "window_of", "fetch_window", "connection_of"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Window:
    """Rows [start, stop) of the ordered list, and what lies beyond them."""

    rows: list[Any]
    start: int
    has_next: bool
    has_previous: bool
    count: Callable[[], Awaitable[int]]


def window_of(ctx: Context, first: int | None, last: int | None) -> int:
    """The page size asked for, checked against the hub's limits."""
    limits = ctx.runtime.limits
    if first is not None and last is not None:
        raise RequestError("pass `first` or `last`, not both")
    size = first if first is not None else last
    if size is None:
        return limits.default_page_size
    name = "first" if first is not None else "last"
    if size < 0:
        raise RequestError(f"`{name}` must not be negative")
    if size > limits.max_page_size:
        raise LimitExceeded(f"`{name}` is {size}; at most {limits.max_page_size} items per page")
    return size


async def fetch_window(ctx: Context, stmt: Select[Any], order_by: Sequence[Any], *,
                       first: int | None, after: str | None, last: int | None,
                       before: str | None) -> Window:
    """One page of `stmt` (rows as the statement selects them) in `order_by` order."""
    size = window_of(ctx, first, last)
    start = decode_cursor(after)
    end = decode_cursor(before) - 1 if before is not None else None
    factory = ctx.runtime.session_factory
    known: list[int] = []

    async def count() -> int:
        if not known:
            async with factory() as session:
                total = await session.scalar(select(func.count()).select_from(
                    stmt.order_by(None).subquery()))
            known.append(int(total or 0))
        return known[0]

    if last is not None:
        if end is None:
            end = await count()
        begin = max(start, end - size)
        take = max(0, end - begin)
        has_previous = begin > start or (begin > 0 and after is None)
        has_next = before is not None
    else:
        begin = start
        take = size if end is None else max(0, min(size, end - start))
        has_previous = start > 0
        has_next = False
    async with factory() as session:
        result = await session.execute(
            stmt.order_by(*order_by).offset(begin).limit(take + (0 if last is not None else 1)))
        rows = list(result.all())
    if last is None:
        has_next = len(rows) > take or (end is not None and begin + take < end)
        rows = rows[:take]
    return Window(rows, begin, has_next, has_previous, count)


def connection_of(window: Window, items: Sequence[T]) -> Connection[T]:
    """The connection of a window whose rows became `items` (one item per row, in order)."""
    edges = [Edge(node=item, cursor=encode_cursor(window.start + i))
             for i, item in enumerate(items)]
    info = PageInfo(has_next_page=window.has_next, has_previous_page=window.has_previous,
                    start_cursor=edges[0].cursor if edges else None,
                    end_cursor=edges[-1].cursor if edges else None)
    return Connection(edges=edges, page_info=info, _count=window.count)
