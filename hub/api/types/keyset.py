"""Relay connections over an increasing integer key (a ledger's entry number), both ways:
`first`/`after` pages forward, `last`/`before` backward (the newest entries: `last: 20`).

Why keyset rather than offsets: the ledger only grows, so an offset cursor would shift under a
reader as entries arrive; a cursor naming the entry number never does. A query runs
`keyset_window(...)` once, applies `window.where(column)` and `window.order(column)` with
`.limit(window.fetch)`, and hands the rows to `keyset_connection`, which drops the probe row
and puts a backward page back in increasing order.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, UnaryExpression, and_, true

from hub.api.types.pagination import Connection, Edge, PageInfo
from hub.errors import LimitExceeded, RequestError

__all__ = ["KeysetWindow", "keyset_window", "keyset_connection", "encode_key", "decode_key"]

T = TypeVar("T")


def encode_key(kind: str, key: int) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode("ascii")


def decode_key(kind: str, cursor: str, argument: str) -> int:
    """The key in `cursor`; BAD_REQUEST naming `argument` when it is not one of this list's."""
    try:
        text = base64.b64decode(cursor.encode("ascii"), validate=True).decode()
        prefix, _, number = text.partition(":")
        if prefix != kind or not number.isdigit():
            raise ValueError
        return int(number)
    except (binascii.Error, UnicodeError, ValueError):
        raise RequestError(f"`{argument}` is not a cursor of this list") from None


@dataclass(frozen=True, slots=True)
class KeysetWindow:
    kind: str
    after: int | None
    before: int | None
    size: int
    backward: bool

    @property
    def fetch(self) -> int:
        """Rows to fetch: one more than the page tells whether there is more that way."""
        return self.size + 1

    def where(self, column: Any) -> ColumnElement[bool]:
        clauses = []
        if self.after is not None:
            clauses.append(column > self.after)
        if self.before is not None:
            clauses.append(column < self.before)
        return and_(true(), *clauses)

    def order(self, column: Any) -> UnaryExpression[Any]:
        ordered: UnaryExpression[Any] = column.desc() if self.backward else column.asc()
        return ordered


def keyset_window(kind: str, first: int | None, after: str | None, last: int | None,
                  before: str | None, *, default: int, maximum: int) -> KeysetWindow:
    """The page asked for; BAD_REQUEST for both `first` and `last` or a negative size,
    LIMIT_EXCEEDED above `maximum`."""
    if first is not None and last is not None:
        raise RequestError("give `first` or `last`, not both")
    size = first if first is not None else last if last is not None else default
    name = "last" if last is not None else "first"
    if size < 0:
        raise RequestError(f"`{name}` must not be negative")
    if size > maximum:
        raise LimitExceeded(f"`{name}` is {size}; at most {maximum} items per page")
    return KeysetWindow(
        kind, decode_key(kind, after, "after") if after is not None else None,
        decode_key(kind, before, "before") if before is not None else None,
        size, backward=last is not None)


def keyset_connection(window: KeysetWindow, rows: Sequence[T], key: Callable[[T], int],
                      count: Callable[[], Awaitable[int]]) -> Connection[T]:
    """A page from `rows` fetched in `window.order` with `window.fetch` as the limit."""
    more = len(rows) > window.size
    page = list(rows[:window.size])
    if window.backward:
        page.reverse()
    edges = [Edge(node=item, cursor=encode_key(window.kind, key(item))) for item in page]
    info = PageInfo(
        has_next_page=more if not window.backward else window.before is not None,
        has_previous_page=more if window.backward else window.after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=info, _count=count)
