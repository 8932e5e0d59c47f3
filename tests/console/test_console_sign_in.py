"""Signing in and the attacks on sessions: a wrong password, a locked user, a form without its
CSRF token, another official's token with one's own cookie, a forged cookie, a page opened
after sign-out, an open redirect in `next`, and the headers every page carries."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.console.conftest import (
    DESTINATION,
    OBSERVER,
    ORIGIN,
    ConsoleWorld,
    screenshot,
    sign_in,
)


def _client(world: ConsoleWorld, party: str) -> httpx.Client:
    return httpx.Client(base_url=world.console(party).url, follow_redirects=False, timeout=30)


@contextlib.contextmanager
def _signed_in(world: ConsoleWorld, party: str) -> Iterator[tuple[httpx.Client, str]]:
    """An HTTP client holding a live session of `party`'s official, and its CSRF token."""
    with _client(world, party) as client:
        console = world.console(party)
        response = client.post("/login", data={"user": console.user, "next": "/members",
                                               "password": console.password})
        assert response.status_code == 303, response.text
        page = client.get("/members")
        assert page.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        yield client, token.group(1)


def test_an_official_signs_in_and_sees_the_members_page(console_world: ConsoleWorld,
                                                         browser: Any) -> None:
    page = sign_in(browser, console_world.console(ORIGIN))
    assert page.url.endswith("/members")
    assert page.locator("h1").inner_text() == "党员台账"
    assert "（党支部书记）" in page.locator(".who").inner_text()
    rows = page.locator("#members tbody tr")
    assert rows.count() == 20
    total = int(page.locator("#total").inner_text())
    assert total > 20
    # ID numbers leave the hub masked: the page shows what the hub gave, never more
    ids = [t for t in page.locator("#members tbody td[data-label='身份证号']").all_inner_texts()
           if t]
    assert ids and all("*" in t for t in ids)
    screenshot(page, "members")
    page.context.close()


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_user(
        console_world: ConsoleWorld) -> None:
    console = console_world.console(DESTINATION)
    with _client(console_world, DESTINATION) as client:
        wrong = client.post("/login", data={"user": console.user, "password": "not it"})
        assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.text
        assert "yx_console" not in wrong.headers.get("set-cookie", "")
        unknown = client.post("/login", data={"user": "nobody", "password": "x" * 12})
        assert unknown.status_code == 401 and "用户名或密码不正确" in unknown.text
        for _ in range(5):
            client.post("/login", data={"user": "nobody", "password": "guess"})
        locked = client.post("/login", data={"user": "nobody", "password": "guess"})
        assert locked.status_code == 429 and "暂时锁定" in locked.text
        # the real official is not locked by someone guessing another user id
        ok = client.post("/login", data={"user": console.user, "password": console.password})
        assert ok.status_code == 303


def test_pages_need_a_session_and_carry_safe_headers(console_world: ConsoleWorld) -> None:
    with _client(console_world, ORIGIN) as client:
        page = client.get("/members")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/members"
        login = client.get("/login")
        csp = login.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert login.headers["x-frame-options"] == "DENY"
        assert "http://" not in login.text.replace(console_world.console(ORIGIN).url, "") \
            .split("<body", 1)[0], "the page head loads nothing from outside"
    with _signed_in(console_world, ORIGIN) as (client, _):
        cookie = client.cookies.jar
        flags = next(c for c in cookie if c.name == "yx_console")
        assert flags.has_nonstandard_attr("HttpOnly")
        assert (flags.get_nonstandard_attr("SameSite") or "").lower() == "strict"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_next_never_leaves_the_console(console_world: ConsoleWorld, target: str) -> None:
    console = console_world.console(ORIGIN)
    with _client(console_world, ORIGIN) as client:
        response = client.post("/login", data={"user": console.user, "next": target,
                                               "password": console.password})
        assert response.status_code == 303 and response.headers["location"] == "/"


def test_sign_out_without_its_csrf_token_is_refused(console_world: ConsoleWorld) -> None:
    with _signed_in(console_world, ORIGIN) as (client, _):
        refused = client.post("/logout", data={})
        assert refused.status_code == 403
        assert client.get("/members").status_code == 200, "the session is still live"


def test_another_officials_csrf_token_does_not_pass(console_world: ConsoleWorld) -> None:
    """Two sessions of the same console: a form carrying session A's token, posted with
    session B's cookie, is refused (each token belongs to one session)."""
    with _signed_in(console_world, ORIGIN) as (_first, first_token), \
            _signed_in(console_world, ORIGIN) as (second, second_token):
        assert first_token != second_token
        refused = second.post("/logout", data={"csrf_token": first_token})
        assert refused.status_code == 403
        assert second.get("/members").status_code == 200


def test_a_forged_or_foreign_cookie_is_no_session(console_world: ConsoleWorld) -> None:
    with _signed_in(console_world, ORIGIN) as (client, _):
        value = client.cookies.get("yx_console")
        assert value
    # the cookie edited by one character is refused
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    with _client(console_world, ORIGIN) as attacker:
        attacker.cookies.set("yx_console", tampered)
        assert attacker.get("/members").status_code == 303
    # a cookie of the origin's console means nothing to the destination's console
    with _client(console_world, DESTINATION) as elsewhere:
        elsewhere.cookies.set("yx_console", value)
        assert elsewhere.get("/members").status_code == 303


def test_a_page_opened_after_sign_out_asks_to_sign_in_again(console_world: ConsoleWorld) -> None:
    with _signed_in(console_world, ORIGIN) as (client, token):
        cookie = client.cookies.get("yx_console")
        out = client.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/login"
    with _client(console_world, ORIGIN) as replay:  # the old cookie, kept by an attacker
        replay.cookies.set("yx_console", cookie or "")
        assert replay.get("/members").status_code == 303
        posted = replay.post("/logout", data={"csrf_token": token}, headers={"HX-Request": "1"})
        assert posted.status_code in {303, 401}


def test_an_observer_party_gets_no_person_pages(console_world: ConsoleWorld,
                                                browser: Any) -> None:
    """四川省委组织部 observes the contracts: statistics, never persons. The members page is
    not in its navigation and is refused when typed in (the hub would show it nobody anyway)."""
    console = console_world.console(OBSERVER)
    page = sign_in(browser, console)
    assert "党员台账" not in page.locator("nav.nav").inner_text()
    response = page.goto(console.url + "/members")
    assert response is not None and response.status == 403
    assert "不办理" in page.locator("p.error").inner_text()
    page.context.close()
