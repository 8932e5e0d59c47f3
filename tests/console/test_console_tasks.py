"""任务与积分 in a real browser: 叙州 publishes a 一领 task on the page, 成都 (the party that
records its members' claims) claims it for a member and reports completion through the hub,
叙州 confirms it on the page; the points table and the hub's points ledger and exchange entries
then show the award, recorded under the signed-in official."""

from __future__ import annotations

import secrets
from typing import Any

from console.messages import MESSAGES
from tests.console.conftest import (
    DESTINATION,
    OBSERVER,
    ORIGIN,
    ConsoleWorld,
    screenshot,
    sign_in,
)

VILLAGE = "511502V001"

CLAIM = """
mutation($task: Int!, $member: ID!, $org: ID!) {
  claimTask(task: $task, memberKey: $member, organization: $org) { claim { number state } }
}
"""
REPORT = """
mutation($claim: Int!) {
  reportTaskCompletion(claim: $claim, evidence: "已售出12箱，附订单截图。") {
    claim { number state }
  }
}
"""
POINTS = """
query($member: ID!, $year: Int!) {
  points(filter: {memberKey: $member, year: $year}, first: 100) {
    totalPoints nodes { points rule entryNumber }
  }
}
"""
TASKS = "query { tasks(first: 20) { nodes { number title points capacity claimed publisher } } }"


def _claimant(world: ConsoleWorld) -> dict[str, Any]:
    """A member of the village branch who lives at one of 成都's branches (成都 may record
    their claim), with a name 叙州 can read."""
    body = world.graphql(DESTINATION, """
      { members(filter: {originRegion: "511502"}, first: 100) {
          nodes { key name originOrganization { code } destination { organization { code } } } } }
    """)
    nodes = body["data"]["members"]["nodes"]
    covered = set(world.covered([n["key"] for n in nodes], origins=("511502",)))
    for node in nodes:
        org = (node["destination"] or {}).get("organization") or {}
        if (node["originOrganization"] or {}).get("code") == VILLAGE and node["key"] in covered \
                and str(org.get("code", "")).startswith("510") and node["name"]:
            return {"key": node["key"], "name": node["name"], "org": org["code"]}
    raise AssertionError("the demo has no member of 高场村 living in 成都")


def _row_points(page: Any, key: str) -> int:
    row = page.locator(f"#points tr[data-member='{key}'] td.total")
    return int(row.inner_text()) if row.count() else 0


def _this_year(page: Any) -> int:
    return int(page.locator("select[name=year] option[selected]").get_attribute("value"))


def test_publish_claim_report_and_confirm_a_task(console_world: ConsoleWorld,
                                                 browser: Any) -> None:
    world = console_world
    member = _claimant(world)
    page = sign_in(browser, world.console(ORIGIN))
    page.goto(world.console(ORIGIN).url + "/tasks")
    year = _this_year(page)
    before_row = _row_points(page, member["key"])
    before_total = int(page.locator("#points-total").inner_text())
    hub_before = world.graphql(ORIGIN, POINTS, {"member": member["key"], "year": year})
    before_hub = hub_before["data"]["points"]["totalPoints"]

    title = f"帮村里销售脐橙（{secrets.token_hex(3)}）"
    page.select_option("#publish select[name=organization]", VILLAGE)
    page.select_option("#publish select[name=kind]", "ORIGIN_TASK")
    page.fill("#publish input[name=title]", title)
    page.fill("#publish textarea[name=description]", "每人至少联系 10 箱订单")
    page.fill("#publish input[name=points]", "12")
    page.fill("#publish input[name=capacity]", "3")
    page.click("#publish button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "已发布任务" in page.locator("p.flash.ok").inner_text()
    assert title in page.locator("#tasks").inner_text()

    task = next(t for t in world.graphql(ORIGIN, TASKS)["data"]["tasks"]["nodes"]
                if t["title"] == title)
    assert (task["points"], task["capacity"], task["claimed"], task["publisher"]) == \
        (12, 3, 0, ORIGIN)
    official = world.console(ORIGIN).user
    assert world.sql("SELECT action, party, official, organization FROM exchange_entries "
                     "WHERE id = ?", task["number"]) == [("task_publish", ORIGIN, official,
                                                          VILLAGE)]

    # 成都 records the member's claim and reports completion (the rules give it both steps)
    claimed = world.graphql(DESTINATION, CLAIM, {"task": task["number"],
                                                 "member": member["key"], "org": member["org"]})
    assert "errors" not in claimed, claimed
    claim = claimed["data"]["claimTask"]["claim"]["number"]
    reported = world.graphql(DESTINATION, REPORT, {"claim": claim})
    assert reported["data"]["reportTaskCompletion"]["claim"]["state"] == "REPORTED", reported

    page.goto(world.console(ORIGIN).url + "/tasks")
    row = page.locator(f"#to-review tr[data-claim='{claim}']")
    assert row.count() == 1
    assert member["name"] in row.inner_text() and "已售出12箱" in row.inner_text()
    screenshot(page, "tasks")
    row.locator("button[value=CONFIRMED]").click()
    page.wait_for_load_state("networkidle")
    assert "已确认完成" in page.locator("p.flash.ok").inner_text()
    assert page.locator(f"#to-review tr[data-claim='{claim}']").count() == 0

    # the points table and the hub's points ledger show the award
    assert _row_points(page, member["key"]) == before_row + 12
    assert int(page.locator("#points-total").inner_text()) == before_total + 12
    after = world.graphql(ORIGIN, POINTS, {"member": member["key"], "year": year})
    assert after["data"]["points"]["totalPoints"] == before_hub + 12
    award = [n for n in after["data"]["points"]["nodes"] if n["rule"] == "TASK_CONFIRMED"
             and n["points"] == 12]
    assert award
    review = world.sql("SELECT action, party, official, answers FROM exchange_entries "
                       "WHERE id = ?", award[0]["entryNumber"])
    assert review[0][:3] == ("task_review", ORIGIN, official)
    assert world.sql("SELECT state FROM exchange_task_claims WHERE id = ?",
                     claim) == [("confirmed",)]
    page.context.close()


def test_a_double_submit_publishes_once_and_bad_input_is_said(console_world: ConsoleWorld,
                                                              browser: Any) -> None:
    world = console_world
    page = sign_in(browser, world.console(ORIGIN))
    page.goto(world.console(ORIGIN).url + "/tasks")
    url = world.console(ORIGIN).url + "/tasks/publish"
    title = f"清明植树（{secrets.token_hex(3)}）"
    form = {"csrf_token": page.locator("#publish input[name=csrf_token]").input_value(),
            "idempotency_key": page.locator("#publish input[name=idempotency_key]")
            .input_value(),
            "organization": VILLAGE, "kind": "ORIGIN_TASK", "title": title,
            "description": "带领乡亲植树", "points": "5", "capacity": "2",
            "deadline": page.locator("#publish input[name=deadline]").input_value()}
    first = page.request.post(url, form=form)
    second = page.request.post(url, form=form)
    assert "已发布任务" in first.text()
    assert "重复提交，未重复发布" in second.text()
    assert world.sql("SELECT COUNT(*) FROM exchange_tasks WHERE title = ?", title) == [(1,)]

    bad = page.request.post(url, form={**form, "idempotency_key": secrets.token_urlsafe(18),
                                       "points": "500", "title": ""})
    text = bad.text()
    assert "积分应为 0 到 100 之间的整数" in text and "请填写任务标题" in text
    # a form without its CSRF token is refused, and nothing is written
    forged = page.request.post(url, form={**form, "csrf_token": "x",
                                          "idempotency_key": secrets.token_urlsafe(18)})
    assert forged.status == 403
    assert world.sql("SELECT COUNT(*) FROM exchange_tasks WHERE title = ?", title) == [(1,)]
    page.context.close()


def test_only_the_publisher_confirms_and_the_hub_says_why(console_world: ConsoleWorld,
                                                          browser: Any) -> None:
    """成都 did not publish the 一领 task: it has no button for it, and a forged review is
    refused by the hub, its sentence shown."""
    world = console_world
    member = _claimant(world)
    published = world.graphql(ORIGIN, """
      mutation($org: ID!) { publishTask(organization: $org, task: {kind: ORIGIN_TASK,
        title: "帮村里修水渠", description: "周末两天", deadline: "2099-12-31T23:59:00+08:00",
        points: 3, capacity: 2}) { task { number } } }""", {"org": VILLAGE})
    task = published["data"]["publishTask"]["task"]["number"]
    claim = world.graphql(DESTINATION, CLAIM, {"task": task, "member": member["key"],
                                               "org": member["org"]}
                          )["data"]["claimTask"]["claim"]["number"]
    world.graphql(DESTINATION, REPORT, {"claim": claim})
    page = sign_in(browser, world.console(DESTINATION))
    page.goto(world.console(DESTINATION).url + "/tasks")
    assert page.locator(f"#to-review tr[data-claim='{claim}']").count() == 0
    response = page.request.post(world.console(DESTINATION).url + "/tasks/review", form={
        "csrf_token": page.locator("#publish input[name=csrf_token]").input_value(),
        "idempotency_key": secrets.token_urlsafe(18), "claim": str(claim),
        "decision": "CONFIRMED"})
    text = response.text()
    # the hub refuses the step as not the caller's (TaskStepDenied: CONTRACT_DENIED)
    assert f"第 {claim} 号认领未能审核：{MESSAGES['CONTRACT_DENIED']}" in text
    assert world.sql("SELECT state FROM exchange_task_claims WHERE id = ?",
                     claim) == [("reported",)]
    screenshot(page, "tasks-destination")
    page.context.close()


def test_an_observer_has_no_tasks_or_letters(console_world: ConsoleWorld, browser: Any) -> None:
    """四川省委组织部 observes: neither page is in its navigation, and both are refused."""
    page = sign_in(browser, console_world.console(OBSERVER))
    for path in ("/tasks", "/letters"):
        response = page.goto(console_world.console(OBSERVER).url + path)
        assert response is not None and response.status == 403
        assert "不办理这项工作" in page.locator("main").inner_text()
        nav = page.locator("nav.nav").inner_text()
        assert "任务与积分" not in nav and "年终发函" not in nav
    page.context.close()
