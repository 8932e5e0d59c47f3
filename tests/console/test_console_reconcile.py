"""双向对账 in a real browser: 叙州 starts the 2026Q3 run with 成都 and watches it run (htmx polls
the progress until the page reloads), reads the categories with the XLSX's sheet names,
confirms a candidate match and countersigns; 成都 countersigns; the page then shows both
signatures and the quarter's obligation fulfilled, 履约 lists it as fulfilled, and the
workbook downloads and opens with openpyxl with every category's sheet. Each step is checked
against what the hub holds (world.graphql, world.sql)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from console.pages.reconcile import CATEGORY_TERMS, SHEET_NAMES, counterparts, current_quarter
from hub.reconcile.export import CATEGORY_TERMS as HUB_TERMS
from hub.reconcile.export import SHEET_NAMES as HUB_SHEETS
from tests.console.conftest import (
    DESTINATION,
    OBSERVER,
    ORIGIN,
    ConsoleWorld,
    screenshot,
    sign_in,
)

RUN = """query($id: ID!) { reconciliation(id: $id) { state contractId signedByEveryParty
  signatures { party } counts { category count } } }"""
OBLIGATIONS = """query($c: String!) { obligations(filter: {contractId: $c,
  action: "reconciliation"}, first: 40) { nodes { key party periodStart state fulfilledBy } } }"""


def test_the_names_are_the_workbooks() -> None:
    """The console's category names are the hub's sheet names and terms (it may not import
    hub.reconcile, so it keeps a copy: this keeps the two in step)."""
    assert list(SHEET_NAMES.values()) == list(HUB_SHEETS.values())
    assert {k.lower(): v for k, v in SHEET_NAMES.items()} == dict(HUB_SHEETS)
    assert {k.lower(): v for k, v in CATEGORY_TERMS.items()} == dict(HUB_TERMS)
    assert re.match(r"^20\d\dQ[1-4]$", current_quarter())
    contracts = [{"id": "a", "title": "甲", "state": "ACTIVE", "parties": [
        {"party": "o", "role": "origin"}, {"party": "d", "role": "destination"},
        {"party": "s", "role": "observer"}]},
        {"id": "b", "title": "乙", "state": "expired", "parties": [
            {"party": "o", "role": "origin"}, {"party": "x", "role": "destination"}]}]
    assert counterparts(contracts, "o") == [("d", "甲", "origin")]
    assert counterparts(contracts, "d") == [("o", "甲", "destination")]
    assert counterparts(contracts, "s") == []


def bad_id(good: str) -> str:
    """The same ID number with a wrong check digit: no longer a valid 身份证号码."""
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def ledger_file(world: ConsoleWorld, path: Path) -> tuple[Path, str]:
    """叙州's own ledger in the standard template, as its clerk keeps it (the demo's county
    records of members 成都 also holds), one of them with a mistyped ID number: a candidate
    match for a person to confirm. Returns the file and the name on that row."""
    people = [m.person for m in world.hub.world.world.members_in("county")
              if m.person.destination_system == "chengdu" and m.defect is None
              and m.person.status in ("in_contact", "lost_contact")][:20]
    lines = ["叙州区流动党员台账（2026年第三季度）",
             "编号,姓名,身份证号码,出生日期,联系状态,流出地,流入地"]
    status = {"in_contact": "正常联系", "lost_contact": "失联"}
    for i, p in enumerate(people):
        ident = bad_id(p.id_number) if i == 0 else p.id_number
        lines.append(f"XZ{i:03d},{p.name},{ident},{p.birth_date.isoformat()},"
                     f"{status[p.status]},{p.origin_region_code},{p.destination_region_code}")
    assert len(people) >= 10, "the demo's county and 成都 share members"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, people[0].name


def run_id_of(page: Any) -> str:
    match = re.search(r"/reconcile/([0-9a-f]+)$", page.url.split("?")[0])
    assert match, page.url
    return match.group(1)


def test_start_confirm_sign_both_sides_and_download(console_world: ConsoleWorld,
                                                     browser: Any, tmp_path: Path) -> None:
    world = console_world
    ledger, mistyped = ledger_file(world, tmp_path / "叙州台账.csv")
    page = sign_in(browser, world.console(ORIGIN))
    page.goto(world.console(ORIGIN).url + "/reconcile")
    page.select_option("select[name=counterparty]", DESTINATION)
    if page.locator("select[name=period] option[value='2026Q3']").count():
        page.select_option("select[name=period]", "2026Q3")
    page.set_input_files("input[name=ledger]", str(ledger))
    screenshot(page, "reconcile")
    page.click("#start-form button[type=submit]")
    page.wait_for_url(re.compile(r"/reconcile/[0-9a-f]+$"))
    run = run_id_of(page)
    # the page polls the progress and reloads itself once the run is done
    page.wait_for_selector("#run-state[data-state=done]", timeout=120_000)
    held = world.graphql(ORIGIN, RUN, {"id": run})["data"]["reconciliation"]
    assert held["state"] == "done"
    counts = {c["category"]: c["count"] for c in held["counts"]}
    for category, name in SHEET_NAMES.items():
        tile = page.locator(f"#counts a[data-category={category}]")
        assert name in tile.inner_text()
        assert tile.locator(".count").inner_text() == str(counts.get(category, 0))
    assert counts["CANDIDATE"] >= 1 and counts["MATCHED"] + counts["DIFFERING"] >= 5, counts
    # the polled fragment: once the run stopped it tells htmx to reload the page
    polled = page.request.get(world.console(ORIGIN).url + f"/reconcile/{run}/progress",
                              headers={"HX-Request": "true"})
    assert polled.headers.get("hx-refresh") == "true" and 'data-state="done"' in polled.text()
    screenshot(page, "reconcile-run")

    # a candidate match: 叙州 confirms it is the same person
    row = page.locator("#category-rows tbody tr[data-pair]").first
    assert mistyped in row.inner_text()
    pair = row.get_attribute("data-pair")
    row.locator("button", has_text="确认是同一人").click()
    page.wait_for_load_state("networkidle")
    assert "已确认为同一人" in page.locator("p.flash.ok").inner_text()
    assert "已确认为同一人" in page.locator(f"tr[data-pair='{pair}'] .decide").inner_text()
    decided = world.sql("SELECT decision, party, user FROM reconciliation_decisions "
                        "WHERE pair = ?", pair)
    assert decided == [("confirmed", ORIGIN, world.console(ORIGIN).user)]

    # 叙州 countersigns with the key the console holds
    page.click("#sign-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "待对方会签" in page.locator("p.flash.ok").inner_text()
    assert page.locator(f"#signatures li[data-party={ORIGIN}]").count() == 1
    assert page.locator("#sign-form").count() == 0
    contract = held["contractId"]
    obligation = page.locator("#obligation")
    assert obligation.get_attribute("data-state") in ("DUE", "OVERDUE")

    # the workbook: every category's sheet, as the hub writes it
    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / "report.xlsx"
    download.value.save_as(path)
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == ["汇总", *SHEET_NAMES.values()]
    summary = [r for r in book["汇总"].iter_rows(values_only=True)]
    assert ("期间", "2026Q3") in [tuple(r[:2]) for r in summary if r]
    in_book = {r[0]: r[2] for r in summary if r and r[0] in HUB_SHEETS.values()}
    assert in_book == {SHEET_NAMES[c]: counts.get(c, 0) for c in SHEET_NAMES}
    assert len(list(book["疑似匹配待确认"].iter_rows(values_only=True))) == 1 + counts[
        "CANDIDATE"]
    page.context.close()

    # 成都 finds the run in its list and countersigns: both signatures, obligation fulfilled
    page = sign_in(browser, world.console(DESTINATION), width="phone")
    page.goto(world.console(DESTINATION).url + "/reconcile")
    page.locator(f"#runs tr[data-run='{run}'] a").click()
    page.wait_for_load_state("networkidle")
    page.click("#sign-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "各方均已会签" in page.locator("p.flash.ok").inner_text()
    for party in (ORIGIN, DESTINATION, "yanxing-hub"):
        assert page.locator(f"#signatures li[data-party={party}]").count() == 1
    assert page.locator("#all-signed").count() == 1
    assert page.locator("#obligation").get_attribute("data-state") == "FULFILLED"
    screenshot(page, "reconcile-signed")
    final = world.graphql(ORIGIN, RUN, {"id": run})["data"]["reconciliation"]
    assert final["state"] == "signed" and final["signedByEveryParty"]
    assert {s["party"] for s in final["signatures"]} == {"yanxing-hub", ORIGIN, DESTINATION}
    report = world.sql("SELECT payload, official FROM exchange_entries WHERE action = "
                       "'reconciliation' AND idempotency_key = ?", f"reconciliation:{run}")
    assert len(report) == 1 and json.loads(report[0][0])["run"] == run
    assert report[0][1] == world.console(DESTINATION).user
    instances = world.graphql(ORIGIN, OBLIGATIONS, {"c": contract})["data"]["obligations"]
    q3 = [o for o in instances["nodes"] if o["party"] == ORIGIN
          and o["periodStart"].startswith("2026-06-30T16:00")]
    assert [o["state"] for o in q3] == ["FULFILLED"], instances

    # 履约 lists the quarter as fulfilled, with the contract's title
    page.goto(world.console(DESTINATION).url + "/obligations?action=reconciliation")
    fulfilled = page.locator("#obligations-fulfilled")
    assert fulfilled.locator(f"tr[data-key='{q3[0]['key']}']").count() == 1
    assert "2026年第3季度" in fulfilled.locator(f"tr[data-key='{q3[0]['key']}']").inner_text()
    page.context.close()


def test_refusals_are_sentences(console_world: ConsoleWorld, browser: Any) -> None:
    world = console_world
    page = sign_in(browser, world.console(ORIGIN))
    base = world.console(ORIGIN).url
    missing = page.goto(base + "/reconcile/0123456789abcdef0123456789abcdef")
    assert missing is not None
    text = page.locator("main").inner_text()
    assert "未找到该记录" in text and "{" not in text
    page.goto(base + "/reconcile")
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    bad = page.request.post(base + "/reconcile/start",
                            form={"csrf_token": csrf or "", "counterparty": DESTINATION,
                                  "period": "2026-07"})
    assert "期间应为季度" in bad.text()
    forged = page.request.post(base + "/reconcile/start",
                               form={"counterparty": DESTINATION, "period": "2026Q2"})
    assert forged.status == 403
    xlsx = page.request.get(base + "/reconcile/0123456789abcdef0123456789abcdef.xlsx")
    assert "未找到该记录" in xlsx.text()
    page.context.close()


def test_an_observer_does_not_reconcile(console_world: ConsoleWorld, browser: Any) -> None:
    world = console_world
    page = sign_in(browser, world.console(OBSERVER))
    nav = page.locator("nav.nav").inner_text()
    assert "双向对账" not in nav and "组织关系转接" not in nav and "统计" in nav
    answer = page.goto(world.console(OBSERVER).url + "/reconcile")
    assert answer is not None and answer.status == 403
    answer = page.goto(world.console(OBSERVER).url + "/transfers")
    assert answer is not None and answer.status == 403
    page.context.close()
