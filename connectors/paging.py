"""Paginators: how a listing is asked page by page and when it ends, one small class per style,
picked by the mapping's `pagination.type` (Singer SDK style).

`request(cursor, size)` gives the values one page request carries (under the names the mapping
gives: `cursor_param`, `page_param`, `offset_param`, `size_param`, `limit_param`) and how many
records came before it; `next_cursor(...)` decides from the answer whether there is another
page. Only the source's own end signals end a listing: an empty page, its `total` reached, no
next cursor. A page shorter than asked is not one (platforms cap pages below the size asked).

The graphql kind pages with these (its values become variables); a plugin kind picks one with
`paginator_for(entity.pagination)` or registers its own (`register_paginator`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from connectors.errors import ConnectorConfigError
from connectors.mapping import Pagination

__all__ = [
    "PageRequest",
    "Paginator",
    "CursorPaginator",
    "PagePaginator",
    "OffsetPaginator",
    "PAGINATORS",
    "register_paginator",
    "paginator_for",
]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One page's request: `values` by parameter (or variable) name, sizes and offsets as
    ints; `seen` records came before this page; `label` names the page in errors and issues."""

    values: dict[str, Any] = field(default_factory=dict)
    seen: int = 0
    label: str = "(first)"
    size: int = 0


class Paginator:
    type: ClassVar[str]

    def __init__(self, spec: Pagination) -> None:
        self.spec = spec

    def request(self, cursor: str | None, size: int) -> PageRequest:
        raise NotImplementedError

    def next_cursor(self, page: PageRequest, count: int, total: int | None,
                    next_value: Any = None) -> str | None:
        """The cursor of the following page, or None when the listing ended. `next_value` is
        what the answer holds at the mapping's `next` path (cursor paging)."""
        raise NotImplementedError

    def _ended(self, page: PageRequest, count: int, total: int | None) -> bool:
        return count == 0 or (total is not None and page.seen + count >= total)


class CursorPaginator(Paginator):
    """The source hands out the next page's cursor (`next`); none (or "") ends the listing."""

    type = "cursor"

    def request(self, cursor: str | None, size: int) -> PageRequest:
        values: dict[str, Any] = {}
        if self.spec.size_param:
            values[self.spec.size_param] = size
        if cursor:
            values[self.spec.cursor_param or "cursor"] = cursor
        return PageRequest(values, 0, f"cursor {cursor or '(first)'}", size)

    def next_cursor(self, page: PageRequest, count: int, total: int | None,
                    next_value: Any = None) -> str | None:
        if count == 0 or next_value is None or next_value == "":
            return None
        return str(next_value)


class PagePaginator(Paginator):
    """Numbered pages. The cursor "page/size/seen" keeps the size of the first request (pages
    stay aligned if the caller's page size changes) and how many records came so far."""

    type = "page"

    def request(self, cursor: str | None, size: int) -> PageRequest:
        page_text, _, rest = (cursor or f"{self.spec.first}/{size}").partition("/")
        fixed, _, seen_text = rest.partition("/")
        page, size = int(page_text), int(fixed or size)
        seen = int(seen_text) if seen_text else (page - self.spec.first) * size
        values: dict[str, Any] = {self.spec.page_param or "page": page}
        if self.spec.size_param:
            values[self.spec.size_param] = size
        return PageRequest(values, seen, f"page {page}", size)

    def next_cursor(self, page: PageRequest, count: int, total: int | None,
                    next_value: Any = None) -> str | None:
        if self._ended(page, count, total):
            return None
        number = int(page.values[self.spec.page_param or "page"])
        return f"{number + 1}/{page.size}/{page.seen + count}"


class OffsetPaginator(Paginator):
    """offset/limit; the cursor is the offset of the next page."""

    type = "offset"

    def request(self, cursor: str | None, size: int) -> PageRequest:
        seen = int(cursor or 0)
        values: dict[str, Any] = {self.spec.offset_param or "offset": seen}
        if self.spec.limit_param:
            values[self.spec.limit_param] = size
        return PageRequest(values, seen, f"offset {seen}", size)

    def next_cursor(self, page: PageRequest, count: int, total: int | None,
                    next_value: Any = None) -> str | None:
        return None if self._ended(page, count, total) else str(page.seen + count)


#: pagination type -> its class; `register_paginator` adds to it
PAGINATORS: dict[str, type[Paginator]] = {
    cls.type: cls for cls in (CursorPaginator, PagePaginator, OffsetPaginator)
}


def register_paginator(cls: type[Paginator]) -> type[Paginator]:
    """Make `cls` the paginator of `cls.type` (usable as a class decorator)."""
    PAGINATORS[cls.type] = cls
    return cls


def paginator_for(spec: Pagination) -> Paginator:
    try:
        return PAGINATORS[spec.type](spec)
    except KeyError:
        raise ConnectorConfigError(
            f"unknown pagination type {spec.type!r} (known: {', '.join(sorted(PAGINATORS))})"
        ) from None
