"""报到 in a real browser: 成都 issues a branch's check-in code and prints it (the QR image
comes through the console with the official's token), and a check-in recorded at the hub
with that code appears on the open page without a reload (the hub's exchangeEvents over
WebSocket -> the console -> server-sent events -> the page). Also: the stream catches up after
a reconnect, the QR is only for the code the console holds, an origin party's issue is
refused with the contract's reason, and a form without its CSRF token records nothing."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.console.conftest import DESTINATION, ORIGIN, ConsoleWorld, screenshot, sign_in

BRANCH = "510115D001"  # 涌泉街道腾龙社区流入党员党支部, held by 成都's system

RECORD_CHECK_IN = """
mutation($k: ID!, $c: String, $key: String) {
  recordCheckIn(memberKey: $k, code: $c, idempotencyKey: $key) {
    entry { number answers } member { key name } } }"""
BRANCH_MEMBERS = """
query($o: ID!) { organization(code: $o) { members(first: 100) { nodes { key name } } } }"""
#: origins whose contracts with 成都 grant it the `checkin` record permission (叙州, 泸县);
#: a member from elsewhere at the branch is 成都's own but under no contract: refused
CONTRACTED_ORIGINS = ("511502", "510521")


def _issue(page: Any, org: str = BRANCH, valid_for: str = "86400") -> None:
    page.select_option("#issue-code select[name=organization]", org)
    page.select_option("#issue-code select[name=valid_for]", valid_for)
    page.click("#issue-code button[type=submit]")
    page.wait_for_load_state("networkidle")


def _eventually(count: Callable[[], int], seconds: float = 10.0) -> int:
    """`count()` once it is positive (the audit log is written behind the answer), or its
    last value after `seconds`."""
    deadline = time.monotonic() + seconds
    value = count()
    while value <= 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        value = count()
    return value


def _members(world: ConsoleWorld) -> list[dict[str, Any]]:
    """Members at the branch whose check-ins 成都 may record (which members come first
    differs per run: the demo's member keys are random)."""
    body = world.graphql(DESTINATION, BRANCH_MEMBERS, {"o": BRANCH})
    nodes = body["data"]["organization"]["members"]["nodes"]
    covered = set(world.covered([n["key"] for n in nodes], origins=CONTRACTED_ORIGINS))
    recordable: list[dict[str, Any]] = [n for n in nodes if n["key"] in covered]
    assert len(recordable) >= 4, body
    return recordable


@contextlib.contextmanager
def _signed_in(world: ConsoleWorld, party: str) -> Iterator[tuple[httpx.Client, str]]:
    """An HTTP client holding a live session of `party`'s official, and its CSRF token."""
    console = world.console(party)
    with httpx.Client(base_url=console.url, follow_redirects=False, timeout=30) as client:
        response = client.post("/login", data={"user": console.user, "next": "/checkin",
                                               "password": console.password})
        assert response.status_code == 303, response.text
        page = client.get("/checkin")
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        yield client, token.group(1)


def test_issue_a_code_print_it_and_see_check_ins_arrive(console_world: ConsoleWorld,
                                                         browser: Any) -> None:
    console = console_world.console(DESTINATION)
    page = sign_in(browser, console)
    page.goto(console.url + "/checkin")
    assert page.locator("h1").inner_text() == "报到"
    _issue(page)
    assert page.url.endswith(f"/checkin?org={BRANCH}")
    assert "已签发" in page.locator("p.flash").inner_text()
    sheet = page.locator("#checkin-code")
    assert "涌泉街道腾龙社区流入党员党支部" in sheet.inner_text()
    # the QR image reached the browser through the console (the hub answers only a token)
    page.wait_for_function("document.querySelector('#checkin-code img.qr').naturalWidth > 0")
    svg = page.context.request.get(console.url + f"/checkin/qr/{BRANCH}/svg")
    assert svg.status == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg.text()
    png = page.context.request.get(console.url + f"/checkin/qr/{BRANCH}/png")
    assert png.status == 200 and png.body()[:8] == b"\x89PNG\r\n\x1a\n"
    code = page.locator("#code-text").text_content() or ""
    assert code.startswith("YXC1.")

    # print layout: only the sheet is printed
    page.emulate_media(media="print")
    assert page.locator("nav.nav").is_hidden() and page.locator("#issue-code").is_hidden()
    assert page.locator("#checkin-code img.qr").is_visible()
    screenshot(page, "checkin-print")
    page.emulate_media(media="screen")

    # the live stream is open; mark the document to prove no reload happens
    page.wait_for_function("document.getElementById('live-state').textContent === '实时接收中'")
    page.evaluate("window.__notReloaded = true")
    member = _members(console_world)[0]
    body = console_world.graphql(DESTINATION, RECORD_CHECK_IN,
                                 {"k": member["key"], "c": code, "key": "browser-ci-1"})
    assert "errors" not in body, body
    number = body["data"]["recordCheckIn"]["entry"]["number"]
    row = page.locator(f"#checkins tr#checkin-{number}")
    row.wait_for(timeout=20_000)
    assert page.evaluate("window.__notReloaded") is True
    text = row.inner_text()
    assert member["name"] in text and "扫报到码" in text and "本方" in text
    # the newest row is on top
    assert page.locator("#checkins tbody tr").first.get_attribute("id") == f"checkin-{number}"

    # a second one, recorded by the branch without a code
    other = _members(console_world)[1]
    body = console_world.graphql(DESTINATION, """
      mutation($k: ID!, $o: ID!) { recordCheckIn(memberKey: $k, organization: $o,
        note: "春节后返蓉", idempotencyKey: "browser-ci-2") { entry { number } } }""",
                                 {"k": other["key"], "o": BRANCH})
    assert "errors" not in body, body
    second = body["data"]["recordCheckIn"]["entry"]["number"]
    page.locator(f"#checkins tr#checkin-{second}").wait_for(timeout=20_000)
    assert "党组织登记" in page.locator(f"#checkin-{second}").inner_text()
    assert "春节后返蓉" in page.locator(f"#checkin-{second}").inner_text()

    # the hub audited the event it sent the console as a read by the signed-in official
    audited = _eventually(lambda: console_world.sql(
        "SELECT COUNT(*) FROM audit_entries e JOIN audit_members m ON m.seq = e.seq "
        "WHERE m.member_key = ? AND e.body LIKE ?", member["key"],
        f'%"user":"{console.user}"%')[0][0])
    assert audited >= 1
    screenshot(page, "checkin")
    page.context.close()


def test_a_reload_lists_the_latest_check_ins(console_world: ConsoleWorld, browser: Any) -> None:
    console = console_world.console(DESTINATION)
    member = _members(console_world)[2]
    body = console_world.graphql(DESTINATION, """
      mutation($k: ID!, $o: ID!) { recordCheckIn(memberKey: $k, organization: $o,
        idempotencyKey: "reload-ci") { entry { number } } }""",
                                 {"k": member["key"], "o": BRANCH})
    assert "errors" not in body, body
    number = body["data"]["recordCheckIn"]["entry"]["number"]
    page = sign_in(browser, console)
    page.goto(console.url + f"/checkin?org={BRANCH}")
    assert page.locator(f"#checkin-{number}").count() == 1
    page.goto(console.url + "/checkin")  # every organisation of the party
    assert page.locator(f"#checkin-{number}").count() == 1
    page.context.close()


def test_the_stream_catches_up_after_a_reconnect(console_world: ConsoleWorld) -> None:
    """A browser reconnecting with Last-Event-ID first gets the check-ins recorded since."""
    member = _members(console_world)[3]
    body = console_world.graphql(DESTINATION, """
      mutation($k: ID!, $o: ID!) { recordCheckIn(memberKey: $k, organization: $o,
        idempotencyKey: "catch-up-ci") { entry { number } } }""",
                                 {"k": member["key"], "o": BRANCH})
    assert "errors" not in body, body
    number = body["data"]["recordCheckIn"]["entry"]["number"]
    with _signed_in(console_world, DESTINATION) as (client, _), client.stream(
            "GET", f"/checkin/events?org={BRANCH}",
            headers={"Last-Event-ID": str(number - 1)}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        seen: list[str] = []
        for line in lines:
            seen.append(line)
            if line == f"id: {number}":
                break
        assert "retry: 3000" in seen and "event: checkin" in seen
        data = next(line for line in lines if line.startswith("data:"))
        assert f'id="checkin-{number}"' in data


def test_the_stream_and_the_qr_need_a_session_and_a_held_code(
        console_world: ConsoleWorld) -> None:
    url = console_world.console(DESTINATION).url
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as anonymous:
        assert anonymous.get("/checkin/events").status_code == 303  # to the sign-in page
        assert anonymous.get(f"/checkin/qr/{BRANCH}/svg").status_code == 303
    with _signed_in(console_world, DESTINATION) as (client, _):
        missing = client.get("/checkin/qr/510104D001/svg")  # no code issued there
        assert missing.status_code == 404 and "请先签发" in missing.text
        assert client.get(f"/checkin/qr/{BRANCH}/gif").status_code == 404


def test_an_origin_party_is_told_why_it_cannot_issue(console_world: ConsoleWorld,
                                                     browser: Any) -> None:
    """叙州's contracts give the check-in permission to the destinations only."""
    console = console_world.console(ORIGIN)
    page = sign_in(browser, console)
    page.goto(console.url + "/checkin")
    options = page.locator("#issue-code select[name=organization] option").all_inner_texts()
    assert options and all("叙州" in o or "镇" in o or "村" in o for o in options), options
    before = console_world.sql("SELECT COUNT(*) FROM exchange_entries WHERE party = ?", ORIGIN)
    page.click("#issue-code button[type=submit]")
    page.wait_for_load_state("networkidle")
    error = page.locator("p.flash.error").inner_text()
    assert "协议" in error and "{" not in error, error
    assert page.locator("#checkin-code").count() == 0
    after = console_world.sql("SELECT COUNT(*) FROM exchange_entries WHERE party = ?", ORIGIN)
    assert after == before
    page.context.close()


def test_an_issue_without_its_csrf_token_is_refused(console_world: ConsoleWorld) -> None:
    count = "SELECT COUNT(*) FROM exchange_entries WHERE action = 'checkin_code'"
    before = console_world.sql(count)
    with _signed_in(console_world, DESTINATION) as (client, token):
        form = {"organization": BRANCH, "valid_for": "86400", "idempotency_key": "no-csrf-1"}
        refused = client.post("/checkin/code", data=form)
        assert refused.status_code == 403 and "表单已过期" in refused.text
        wrong = client.post("/checkin/code", data={**form, "csrf_token": token[:-2] + "xx"})
        assert wrong.status_code == 403
        assert console_world.sql(count) == before
        # with the token, the same form is accepted
        accepted = client.post("/checkin/code", data={**form, "csrf_token": token})
        assert accepted.status_code == 303
    assert console_world.sql(count)[0][0] == before[0][0] + 1


def _subscribe(world: ConsoleWorld, query: str, *, purpose: str | None = None) -> list[Any]:
    """Run console.live.ledger_events against the hub as 成都's console would, until the
    first event or failure; what it yielded before (the "subscribed" marker)."""
    from console.config import load_console_config
    from console.hub import ConsoleHub
    from console.live import ledger_events
    from console.officials import Official
    from hub.demo.consoles import SECRET_ENV

    config = load_console_config(world.console(DESTINATION).spec.config_path,
                                 env={SECRET_ENV: "s" * 48})

    if purpose is not None:  # every page's purpose
        config = dataclasses.replace(config, purpose=purpose, purposes={})

    async def run() -> list[Any]:
        hub = ConsoleHub(config)
        seen: list[Any] = []
        try:
            async for entry in ledger_events(hub, Official("test-official", "测试", "staff"),
                                             "checkin", query):
                seen.append(entry)
        finally:
            await hub.aclose()
        return seen

    # on the world's loop: Playwright's sync API keeps a loop of its own in this thread
    assert world.loop is not None
    return asyncio.run_coroutine_threadsafe(run(), world.loop).result(timeout=60)


def test_a_refused_subscription_is_said_in_chinese(console_world: ConsoleWorld) -> None:
    """A token the hub refuses at connection_init (a purpose no contract declares) closes
    the socket with 4403: the console says so in Chinese; a subscription the hub cannot
    start (an unknown action) comes back as its code's sentence."""
    from console.hub import HubFailure
    from console.pages.checkin import EVENTS

    with pytest.raises(HubFailure) as refused:
        _subscribe(console_world, EVENTS, purpose="marketing")
    assert refused.value.code == "UNAUTHENTICATED" and "重新登录" in refused.value.sentence
    with pytest.raises(HubFailure) as bad:
        _subscribe(console_world, 'subscription { exchangeEvents(kinds: ["picnic"]) '
                                  "{ number } }")
    assert bad.value.code == "BAD_USER_INPUT" and "填写的内容有误" in bad.value.sentence
