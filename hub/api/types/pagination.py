"""Relay connections with `totalCount`, over offset cursors.

Cursors are opaque (base64 "cursor:<offset>") so they can become keyset cursors later without
changing the schema. `totalCount` runs its COUNT query only when it is asked for.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from hub.errors import LimitExceeded, RequestError

__all__ = ["Connection", "Edge", "PageInfo", "encode_cursor", "decode_cursor", "page_window",
           "relay_window"]

T = TypeVar("T")

_PREFIX = "cursor:"


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"{_PREFIX}{offset}".encode()).decode("ascii")


def decode_cursor(cursor: str | None) -> int:
    """Offset after `cursor` (0 when None); BAD_REQUEST when it is not one of ours."""
    if cursor is None:
        return 0
    try:
        text = base64.b64decode(cursor.encode("ascii"), validate=True).decode()
        if not text.startswith(_PREFIX):
            raise ValueError
        return int(text[len(_PREFIX):]) + 1
    except (binascii.Error, UnicodeError, ValueError):
        raise RequestError("`after` is not a cursor from this API") from None


def page_window(first: int | None, after: str | None, *, default: int,
                maximum: int) -> tuple[int, int]:
    """(offset, limit) for a page; LIMIT_EXCEEDED beyond `maximum`, BAD_REQUEST below 0."""
    size = default if first is None else first
    if size < 0:
        raise RequestError("`first` must not be negative")
    if size > maximum:
        raise LimitExceeded(f"`first` is {size}; at most {maximum} items per page")
    return decode_cursor(after), size


async def relay_window(first: int | None, after: str | None, last: int | None,
                       before: str | None, *, default: int, maximum: int,
                       count: Callable[[], Awaitable[int]]) -> tuple[int, int]:
    """(offset, limit) for a Relay page in either direction: `first` items after `after`,
    or the `last` items before `before` (before the end when `before` is not given: then
    the total is counted). `after` and `before` together bound the window from both sides."""
    if first is not None and last is not None:
        raise RequestError("give `first` or `last`, not both")
    end: int | None = None
    if before is not None:
        try:
            end = decode_cursor(before) - 1
        except RequestError:
            raise RequestError("`before` is not a cursor from this API") from None
    if last is None:
        offset, limit = page_window(first, after, default=default, maximum=maximum)
        if end is not None:
            limit = max(0, min(limit, end - offset))
        return offset, limit
    if last < 0:
        raise RequestError("`last` must not be negative")
    if last > maximum:
        raise LimitExceeded(f"`last` is {last}; at most {maximum} items per page")
    start = decode_cursor(after)
    if end is None:
        end = await count()
    begin = max(start, end - last)
    return begin, max(0, end - begin)


@strawberry.type(description="分页信息。 Relay page information.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="是否有下一页。 More items after this page.")
    has_previous_page: bool = strawberry.field(
        description="是否有上一页。 Items before this page."
    )
    start_cursor: str | None = strawberry.field(description="本页首项游标。 First item's cursor.")
    end_cursor: str | None = strawberry.field(
        description="本页末项游标，作为下一页的 `after`。 Last item's cursor: pass as `after`."
    )


@strawberry.type(description="连接中的一项。 One item of a connection, with its cursor.")
class Edge(Generic[T]):
    node: T = strawberry.field(description="该项对象。 The item.")
    cursor: str = strawberry.field(description="该项游标。 Opaque cursor of this item.")


@strawberry.type(description="Relay 分页连接。 A Relay connection: one page of items.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="本页各项。 Items of this page.")
    page_info: PageInfo = strawberry.field(description="分页信息。 Page information.")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="符合条件的总数（按调用方可见范围）。 Total matching items the "
                      "caller may see, across all pages.")
    async def total_count(self) -> int:
        return await self._count()

    @strawberry.field(description="本页对象（edges 的简写）。 The items, without cursors.")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]

    @classmethod
    def build(
        cls,
        items: Sequence[T],
        offset: int,
        limit: int,
        count: Callable[[], Awaitable[int]],
    ) -> Connection[T]:
        """`items` holds up to limit + 1 rows: the extra one only says there is a next page."""
        page = list(items[:limit])
        edges = [Edge(node=item, cursor=encode_cursor(offset + i)) for i, item in enumerate(page)]
        info = PageInfo(
            has_next_page=len(items) > limit,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return cls(edges=edges, page_info=info, _count=count)
