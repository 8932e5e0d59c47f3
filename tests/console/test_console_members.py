"""党员台账 and 党员详情 in a real browser: filters, paging, a refused filter explained, the four
clarities, sources per field, and the access log that records the console's own reads as the
signed-in official."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import DESTINATION, ORIGIN, ConsoleWorld, screenshot, sign_in


def test_a_refused_filter_is_explained_in_chinese(console_world: ConsoleWorld,
                                                  browser: Any) -> None:
    """叙州 may not filter on status: the destinations' contracts do not grant it status in
    full for every member a filter would range over."""
    page = sign_in(browser, console_world.console(ORIGIN))
    page.select_option("select[name=status]", "LOST_CONTACT")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state("networkidle")
    error = page.locator("p.error[data-code=CONTRACT_DENIED]")
    assert error.count() == 1
    text = error.inner_text()
    assert "协议" in text and "{" not in text, text
    # it names the agreement to renegotiate, as the officials know it (its title)
    assert "《" in text and "叙州区委组织部" in text, text
    screenshot(page, "members-refused-filter")
    page.context.close()


def test_a_malformed_region_is_said_before_asking_the_hub(console_world: ConsoleWorld,
                                                          browser: Any) -> None:
    page = sign_in(browser, console_world.console(ORIGIN))
    page.goto(console_world.console(ORIGIN).url + "/members?originRegion=51x")
    assert "6 位数字" in page.locator("p.error").first.inner_text()
    page.context.close()


def test_filter_and_page_through_the_members(console_world: ConsoleWorld, browser: Any) -> None:
    """成都 filters on the origin region its contract with 叙州 decides (allowed), then pages."""
    page = sign_in(browser, console_world.console(DESTINATION))
    everyone = int(page.locator("#total").inner_text())
    page.fill("input[name=originRegion]", "511502")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("p.error").count() == 0
    assert 0 < int(page.locator("#total").inner_text()) < everyone
    orgs = set(page.locator("#members td[data-label='流出地党组织']").all_inner_texts())
    assert orgs and all("村" in o or "社区" in o or "支部" in o for o in orgs), orgs
    first = page.locator("#members tbody tr td a").first.inner_text()
    page.click("nav.pager a")
    page.wait_for_load_state("networkidle")
    assert "originRegion=511502" in page.url
    assert page.locator("#members tbody tr td a").first.inner_text() != first
    page.context.close()


def test_member_details_and_who_read_them(console_world: ConsoleWorld, browser: Any) -> None:
    page = sign_in(browser, console_world.console(ORIGIN))
    page.locator("#members tbody tr td a").first.click()
    page.wait_for_load_state("networkidle")
    assert "在哪里" in page.locator("#clarities").inner_text()
    # the two intentions of the four clarities read 是, 否 or 未填, never a raw true/false
    answers = page.locator("#clarities dd").all_inner_texts()[2:]
    assert len(answers) == 2 and all(a.strip() in {"是", "否", "未填"} for a in answers), answers
    log = page.locator("#access-log tbody tr")
    assert log.count() >= 1
    # the console's own read is in the hub's audit with the official as the user
    official = console_world.console(ORIGIN).user
    assert official in page.locator("#access-log").inner_text()
    rows = console_world.sql("SELECT COUNT(*) FROM audit_entries WHERE body LIKE ?",
                             f'%"user":"{official}"%')
    assert rows[0][0] > 0
    screenshot(page, "member-details")
    page.context.close()


def test_a_destination_sees_its_own_share(console_world: ConsoleWorld, browser: Any) -> None:
    page = sign_in(browser, console_world.console(DESTINATION), width="phone")
    assert page.locator("#members tbody tr").count() > 0
    page.context.close()


SUBMIT = """mutation($k: ID!, $o: ID!) {
  submitReport(memberKey: $k, organization: $o, kind: MONTHLY, period: "2026-11",
               text: "本月在成都参加社区志愿服务两次") { entry { number } } }"""
OF_XUZHOU = """{ members(filter: {originRegion: "511502"}, first: 5) {
  nodes { key destination { organization { code } } } } }"""


def test_the_origin_confirms_a_report_on_the_member_page(console_world: ConsoleWorld,
                                                         browser: Any) -> None:
    """成都 records a member's monthly report in the hub; 叙州's secretary sees it on the
    member's page and confirms it; the ledger holds the confirmation, by that official."""
    members = console_world.graphql(DESTINATION, OF_XUZHOU)["data"]["members"]["nodes"]
    member = next(m for m in members if m["destination"]["organization"])
    submitted = console_world.graphql(DESTINATION, SUBMIT, {
        "k": member["key"], "o": member["destination"]["organization"]["code"]})
    assert "errors" not in submitted, submitted
    number = submitted["data"]["submitReport"]["entry"]["number"]
    console = console_world.console(ORIGIN)
    page = sign_in(browser, console)
    page.goto(f"{console.url}/members/{member['key']}")
    row = page.locator("#reports tbody tr", has_text="本月在成都参加社区志愿服务两次")
    assert row.count() == 1
    row.locator("button", has_text="确认").click()
    page.wait_for_load_state("networkidle")
    assert "已确认该报告" in page.locator(".flash").inner_text()
    assert "已确认" in page.locator("#reports tbody tr",
                                   has_text="本月在成都参加社区志愿服务两次").inner_text()
    held = console_world.graphql(ORIGIN, """query($k: ID!) { exchangeEntries(filter:
        {memberKey: $k, actions: ["report_confirmation"]}) { nodes { answers official
        payload } } }""", {"k": member["key"]})
    nodes = held["data"]["exchangeEntries"]["nodes"]
    assert [(n["answers"], n["official"], n["payload"]["accepted"]) for n in nodes] == \
        [(number, console.user, True)]
    page.context.close()


def test_a_system_down_shows_partial_results_naming_it(console_world: ConsoleWorld,
                                                        browser: Any) -> None:
    """蓉城先锋 answers 503: 叙州's members page still lists its members, from the other
    systems, and says in Chinese which system was unavailable."""
    chengdu = console_world.hub.world.chengdu
    page = sign_in(browser, console_world.console(ORIGIN))
    chengdu.fail_rate = 1.0
    try:
        page.reload()
        page.wait_for_load_state("networkidle")
    finally:
        chengdu.fail_rate = 0.0
    warning = page.locator("p.warning").first.inner_text()
    assert "蓉城先锋" in warning and "不完整" in warning, warning
    assert page.locator("#members tbody tr").count() == 20
    page.context.close()
