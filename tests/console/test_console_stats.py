"""统计 in a real browser, as the demo's observer party 四川省委组织部: charts drawn on the
server with their tables beside them, every figure the one the hub published, every cell the
hub suppressed shown as withheld ("<5" or "—", never a number); the page is refused to an
origin party and absent from its navigation; the hub's audit names the observer's official."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from typing import Any

from console.charts import format_value
from tests.console.conftest import (
    DESTINATION,
    OBSERVER,
    ORIGIN,
    ConsoleWorld,
    screenshot,
    sign_in,
)

STATISTICS = """
query($m: StatisticMeasure!, $g: StatisticDimension!, $y: Int, $after: String) {
  statistics(measure: $m, groupBy: $g, year: $y, first: 100, after: $after) {
    minCount pageInfo { hasNextPage endCursor }
    nodes { row column count value suppressed }
  }
}
"""


def _hub_cells(world: ConsoleWorld, measure: str, year: int,
               group_by: str = "ORIGIN_REGION") -> tuple[int, list[dict[str, Any]]]:
    """Every cell the hub publishes to the observer (asked directly, not through the page)."""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        body = world.graphql(OBSERVER, STATISTICS, {"m": measure, "g": group_by, "y": year,
                                                    "after": after})
        assert "errors" not in body, body
        table = body["data"]["statistics"]
        nodes.extend(table["nodes"])
        if not table["pageInfo"]["hasNextPage"]:
            return int(table["minCount"]), nodes
        after = table["pageInfo"]["endCursor"]


def _page_cells(page: Any, table_id: str) -> dict[tuple[str, str], tuple[str, bool]]:
    """(row, column) -> (text shown, marked suppressed) of a table on the page."""
    found = page.eval_on_selector_all(
        f"#{table_id} td[data-row]",
        "cells => cells.map(c => [c.dataset.row, c.dataset.col, c.textContent.trim(), "
        "c.dataset.suppressed === '1'])")
    return {(r, c): (text, hidden) for r, c, text, hidden in found}


def _assert_as_published(page: Any, table_id: str, nodes: list[dict[str, Any]], k: int,
                         *, rates: bool) -> int:
    """Each of the hub's cells is on the page as published; returns how many were withheld."""
    shown = _page_cells(page, table_id)
    withheld = 0
    for node in nodes:
        key = (node["row"], node["column"])
        if node["column"] != "*" and not rates and key not in shown:
            continue
        assert key in shown, (table_id, key, sorted(shown)[:10])
        text, hidden = shown[key]
        if node["suppressed"]:
            withheld += 1
            assert hidden and text == ("—" if rates else "*"), (key, text)
        elif rates:
            assert not hidden and text == format_value(node["value"], percent=True), (key, text)
        else:
            assert not hidden and text == str(node["count"]), (key, text)
    # nothing on the page claims a number in a cell the hub withheld
    for (row, column), (text, hidden) in shown.items():
        if hidden:
            assert text in ("—", "*"), (row, column, text)
    return withheld


def _year(page: Any) -> int:
    return int(page.locator("select[name=year] option[selected]").get_attribute("value"))


def _record_check_ins(world: ConsoleWorld) -> None:
    """成都 records check-ins of five of the members it manages at its largest branch this
    month, so the check-in chart has a figure (the demo seeds organisation life, not
    check-ins)."""
    by_org: dict[str, list[str]] = {}
    after: str | None = None
    while True:
        body = world.graphql(DESTINATION, """query($after: String) {
          members(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
            nodes { key destination { organization { code } } } } }""", {"after": after})
        members = body["data"]["members"]
        for node in members["nodes"]:
            org = ((node.get("destination") or {}).get("organization") or {}).get("code")
            if org and org.startswith("5101"):
                by_org.setdefault(org, []).append(node["key"])
        if not members["pageInfo"]["hasNextPage"]:
            break
        after = members["pageInfo"]["endCursor"]
    org, keys = max(by_org.items(), key=lambda kv: len(kv[1]))
    assert len(keys) >= 10, {o: len(k) for o, k in by_org.items()}
    mutation = """mutation($k: ID!, $o: ID!, $i: String) {
      recordCheckIn(memberKey: $k, organization: $o, idempotencyKey: $i) { entry { number } } }"""
    recorded = 0
    for key in keys:  # which members come first differs per run (random member keys)
        body = world.graphql(DESTINATION, mutation, {"k": key, "o": org,
                                                     "i": f"stats-{secrets.token_hex(6)}"})
        if "errors" in body:
            # a member of an origin no contract with 成都 covers: its own, not recordable
            assert body["errors"][0]["extensions"]["code"] == "CONTRACT_DENIED", body
            continue
        recorded += 1
        if recorded == 5:
            break
    assert recorded == 5, "five check-ins are needed for a figure the hub publishes"


def test_the_observer_sees_charts_with_the_hubs_figures_and_suppressed_cells_withheld(
        console_world: ConsoleWorld, browser: Any) -> None:
    _record_check_ins(console_world)
    page = sign_in(browser, console_world.console(OBSERVER))
    # an observer's console opens on 统计, the one page its role has
    assert page.url.endswith("/stats")
    assert page.locator("nav.nav a").all_inner_texts() == ["统计"]
    assert page.locator("h1").inner_text() == "统计"
    year = _year(page)

    # five charts, each real SVG with a title, drawn on the server
    charts = page.locator("svg.chart")
    assert charts.count() == 5
    for i in range(5):
        root = ET.fromstring(charts.nth(i).evaluate("e => e.outerHTML"))
        assert root.find("{http://www.w3.org/2000/svg}title") is not None

    k, members = _hub_cells(console_world, "MEMBERS_BY_STATUS", year)
    assert _assert_as_published(page, "table-members", members, k, rates=False) > 0
    _, participation = _hub_cells(console_world, "PARTICIPATION_RATE", year)
    assert participation
    _assert_as_published(page, "table-participation", participation, k, rates=True)
    _, check_ins = _hub_cells(console_world, "CHECKIN_RATE", year)
    assert any(not n["suppressed"] for n in check_ins)
    _assert_as_published(page, "table-checkins", check_ins, k, rates=True)
    _, obligations = _hub_cells(console_world, "OBLIGATIONS", year)
    _assert_as_published(page, "table-obligations", obligations, k, rates=False)

    # the region chart: a region whose total the hub published has that bar; the status
    # chart's bars are the column totals, a withheld one has no bar and no number
    region_bars = page.locator("#chart-region g.bar")
    published = {n["row"]: n for n in members if n["column"] == "*" and n["row"] != "*"}
    assert region_bars.count() == len(published)
    for g in page.locator("#chart-region g.bar.suppressed, #chart-status g.bar.suppressed"
                          ).all():
        assert g.locator("rect").count() == 0
        assert (g.locator("text.value").text_content() or "").startswith("*")
    status_values = page.locator("#chart-status g.bar.shown text.value").all_text_contents()
    totals = {str(n["count"]) + "人" for n in members
              if n["row"] == "*" and n["column"] != "*" and not n["suppressed"]}
    assert set(status_values) == totals
    # the obligations' rows are named by the contracts' titles, not their ids
    assert "双向共管协议" in page.locator("#table-obligations tbody").inner_text()
    screenshot(page, "stats")

    # by destination region: the rows are where members live and work
    page.select_option("select[name=by]", "destination")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "by=destination" in page.url
    _, by_destination = _hub_cells(console_world, "MEMBERS_BY_STATUS", year,
                                   "DESTINATION_REGION")
    _assert_as_published(page, "table-members", by_destination, k, rates=False)
    assert "锦江区" in page.locator("#table-members").inner_text()

    # the hub's audit says which official read the statistics, and names no member
    official = console_world.console(OBSERVER).user

    def audited() -> list[str]:
        return [body for (body,) in console_world.sql(
            "SELECT body FROM audit_entries WHERE body LIKE ?", f'%"user":"{official}"%')]

    before = len(audited())
    page.reload()
    page.wait_for_load_state("networkidle")
    after = audited()
    assert len(after) > before
    read = [body for body in after[before:] if "StatisticCell.count" in body]
    assert read and all(f'"party":"{OBSERVER}"' in body and '"members":[]' in body
                        and '"decision":"allowed"' in body for body in read)
    page.context.close()


def test_last_years_figures(console_world: ConsoleWorld, browser: Any) -> None:
    """The demo's history reaches into last year: its months are all there, as published."""
    page = sign_in(browser, console_world.console(OBSERVER))
    last = _year(page) - 1
    page.select_option("select[name=year]", str(last))
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert _year(page) == last
    headings = page.locator("#table-participation thead th").all_inner_texts()
    assert headings[1:] == [f"{m}月" for m in range(1, 13)] + ["全年"]
    k, cells = _hub_cells(console_world, "PARTICIPATION_RATE", last)
    _assert_as_published(page, "table-participation", cells, k, rates=True)
    _, obligations = _hub_cells(console_world, "OBLIGATIONS", last)
    _assert_as_published(page, "table-obligations", obligations, k, rates=False)
    page.context.close()


def test_a_bad_year_is_said_and_the_page_still_answers(console_world: ConsoleWorld,
                                                       browser: Any) -> None:
    page = sign_in(browser, console_world.console(OBSERVER), width="phone")
    for bad in ("19x9", "1800", "'; drop table"):
        page.goto(console_world.console(OBSERVER).url + f"/stats?year={bad}&by=nowhere")
        assert "年度应为" in page.locator("p.error").inner_text()
        assert page.locator("svg.chart").count() == 5
    page.context.close()


def test_an_origin_party_has_no_statistics_page(console_world: ConsoleWorld,
                                                browser: Any) -> None:
    console = console_world.console(ORIGIN)
    page = sign_in(browser, console)
    assert "统计" not in page.locator("nav.nav").inner_text()
    response = page.goto(console.url + "/stats")
    assert response is not None and response.status == 403
    assert "身份不办理" in page.locator("p.error").inner_text()
    assert page.locator("svg.chart").count() == 0
    page.context.close()
