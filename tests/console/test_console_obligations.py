"""履约 in a real browser: the instances of the party's contract obligations grouped by state
(逾期, 待履行, 已履行), each with its contract's title, the obligated party and the period on the
Beijing clock, the groups' counts exactly what the hub's `obligations` holds; the filter by
how an obligation is fulfilled; an observer (四川省委组织部) is sent to 统计 instead."""

from __future__ import annotations

from collections import Counter
from typing import Any

from console.chinatime import china_moment as beijing
from console.pages.obligations import period_label
from tests.console.conftest import DESTINATION, OBSERVER, ORIGIN, ConsoleWorld, screenshot, sign_in

HELD = """query($action: String) { obligations(filter: {action: $action}, first: 100) {
  totalCount nodes { key contractTitle state party periodStart schedule } } }"""


def held(world: ConsoleWorld, party: str, action: str | None = None) -> list[dict[str, Any]]:
    body = world.graphql(party, HELD, {"action": action})
    nodes: list[dict[str, Any]] = body["data"]["obligations"]["nodes"]
    assert body["data"]["obligations"]["totalCount"] == len(nodes)
    return nodes


def test_the_periods_read_on_the_beijing_clock() -> None:
    start = beijing("2026-06-30T16:00:00Z")
    assert start is not None and start.month == 7 and start.day == 1
    assert period_label(start, "quarterly") == "2026年第3季度"
    assert period_label(start, "yearly") == "2026年"
    assert period_label(start, "monthly") == "2026年7月"
    assert beijing(None) is None


def test_obligations_grouped_by_state(console_world: ConsoleWorld, browser: Any) -> None:
    world = console_world
    for party in (ORIGIN, DESTINATION):
        page = sign_in(browser, world.console(party))
        page.goto(world.console(party).url + "/obligations")
        nodes = held(world, party)
        by_state = Counter(n["state"] for n in nodes)
        assert nodes, "the demo's contracts carry quarterly and yearly obligations"
        for state in ("OVERDUE", "DUE", "FULFILLED"):
            section = page.locator(f"#obligations-{state.lower()}")
            assert section.locator("tbody tr").count() == by_state.get(state, 0)
            assert page.locator(f"#count-{state.lower()}").inner_text() == str(
                by_state.get(state, 0))
            for row in section.locator("tbody tr").all()[:5]:
                assert row.get_attribute("data-state") == state
        first = nodes[0]
        row = page.locator(f"tr[data-key='{first['key']}']")
        assert first["contractTitle"] in row.inner_text()
        start = beijing(first["periodStart"])
        assert start is not None
        assert period_label(start, first["schedule"]) in row.inner_text()
        # order of the groups: what needs doing first
        titles = page.locator("main h2").all_inner_texts()
        assert [t.split("（")[0] for t in titles[:3]] == ["逾期", "待履行", "已履行"]
        if party == ORIGIN:
            screenshot(page, "obligations")
        # the filter by how an obligation is fulfilled
        page.click("nav.pager a:has-text('年终发函')")
        page.wait_for_load_state("networkidle")
        letters = held(world, party, "evaluation_letter")
        assert page.locator("main tbody tr[data-key]").count() == len(letters)
        assert all(a == "evaluation_letter" for a in
                   page.locator("main tbody tr[data-key]").evaluate_all(
                       "rows => rows.map(r => r.dataset.action)"))
        page.context.close()


def test_an_observer_reads_obligations_on_its_statistics_page(console_world: ConsoleWorld,
                                                              browser: Any) -> None:
    """履约 is the owing and owed parties' page: an observer (四川省委组织部) lands on 统计,
    which counts obligations met, and is refused here."""
    world = console_world
    page = sign_in(browser, world.console(OBSERVER), width="phone")
    assert "履约" not in page.locator("nav.nav").inner_text()
    answer = page.goto(world.console(OBSERVER).url + "/obligations")
    assert answer is not None and answer.status == 403
    assert "身份不办理" in page.locator("main").inner_text()
    page.context.close()
