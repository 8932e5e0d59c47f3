"""Authenticators and paginators: small public classes picked by name from the mapping, which a
plugin kind can pick or subclass and register (connectors.auth, connectors.paging)."""

from __future__ import annotations

import pytest

from connectors.auth import (
    AUTHENTICATORS,
    Authenticator,
    authenticator_for,
    register_authenticator,
    sign_params,
)
from connectors.errors import ConnectorConfigError
from connectors.mapping import Pagination
from connectors.paging import (
    PAGINATORS,
    PageRequest,
    Paginator,
    paginator_for,
    register_paginator,
)
from connectors.secret import Secret


def _apply(settings: dict) -> tuple[dict[str, str], dict[str, str]]:
    params: dict[str, str] = {"page": "1"}
    headers: dict[str, str] = {}
    authenticator_for(settings).apply(params, headers)
    return params, headers


def test_the_builtin_authenticators() -> None:
    assert _apply({"type": "none"}) == ({"page": "1"}, {})
    assert _apply({}) == ({"page": "1"}, {})
    assert _apply({"type": "bearer", "token": Secret("t0k")})[1] == {"Authorization": "Bearer t0k"}
    assert _apply({"type": "api_key", "key": Secret("k"), "header": "X-K"})[1] == {"X-K": "k"}
    params, _ = _apply({"type": "hmac", "app_key": "app", "secret": Secret("s3")})
    signature = params.pop("sign")
    assert params["appKey"] == "app" and params["timestamp"].isdigit()
    assert signature == sign_params(params, "s3")


def test_an_unknown_auth_type_names_the_known_ones() -> None:
    with pytest.raises(ConnectorConfigError, match=r"unknown auth type 'kerberos' \(known: "):
        authenticator_for({"type": "kerberos"})


def test_a_plugin_registers_its_own_authenticator() -> None:
    @register_authenticator
    class Sm3Token(Authenticator):
        type = "sm3_token"

        def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
            headers["X-Sm3"] = f"{self.settings['user']}:signed"

    try:
        assert _apply({"type": "sm3_token", "user": "u"})[1] == {"X-Sm3": "u:signed"}
    finally:
        del AUTHENTICATORS["sm3_token"]


def _walk(paginator: Paginator, pages: list[int], total: int | None, size: int) -> list[str]:
    """The labels of the pages asked, the source answering `pages[i]` rows to the i-th."""
    labels: list[str] = []
    cursor: str | None = None
    for count in pages:
        page = paginator.request(cursor, size)
        labels.append(page.label)
        cursor = paginator.next_cursor(page, count, total, None)
        if cursor is None:
            break
    return labels


def test_page_paging_goes_past_short_pages_until_total_or_an_empty_page() -> None:
    paginator = paginator_for(Pagination("page", page_param="p", size_param="n", size=50))
    assert paginator.request(None, 50).values == {"p": 1, "n": 50}
    # capped at 20 of 50 asked: three pages for a total of 45
    assert _walk(paginator, [20, 20, 5, 0], 45, 50) == ["page 1", "page 2", "page 3"]
    # no total: only an empty page ends it
    assert _walk(paginator, [20, 20, 5, 0], None, 50) == ["page 1", "page 2", "page 3", "page 4"]
    first = paginator.request(None, 50)
    resumed = paginator.request(paginator.next_cursor(first, 20, None), 10)
    assert resumed.values == {"p": 2, "n": 50} and resumed.seen == 20  # the size stays aligned


def test_offset_and_cursor_paging() -> None:
    offset = paginator_for(Pagination("offset", offset_param="o", limit_param="l", size=10))
    page = offset.request("30", 10)
    assert (page.values, page.seen) == ({"o": 30, "l": 10}, 30)
    assert offset.next_cursor(page, 7, None) == "37"
    assert offset.next_cursor(page, 7, 37) is None
    cursor = paginator_for(Pagination("cursor", cursor_param="after", size_param="first",
                                      next="x"))
    page = cursor.request("abc", 5)
    assert page.values == {"first": 5, "after": "abc"}
    assert cursor.next_cursor(page, 5, None, "def") == "def"
    assert cursor.next_cursor(page, 5, None, "") is None
    assert cursor.next_cursor(page, 0, None, "def") is None


def test_a_plugin_registers_its_own_paginator() -> None:
    @register_paginator
    class LinkHeader(Paginator):
        type = "link"

        def request(self, cursor: str | None, size: int) -> PageRequest:
            return PageRequest({"url": cursor or "/first"}, 0, cursor or "(first)", size)

        def next_cursor(self, page, count, total, next_value=None):
            return next_value or None

    try:
        paginator = paginator_for(Pagination("link"))
        assert paginator.request(None, 5).values == {"url": "/first"}
    finally:
        del PAGINATORS["link"]
    with pytest.raises(ConnectorConfigError, match="unknown pagination type 'link'"):
        paginator_for(Pagination("link"))
