"""组织关系转接 in a real browser: each transfer's state, the step it waits for and whose turn
it is; the step buttons the rules give the party (成都 accepts, 叙州 approves and completes);
a double submit recorded once (the form's idempotency key); the hub's refusals — a step by the
wrong party (WRONG_PARTY), a step from a stale page (STATE_CONFLICT) — shown as sentences; a
request filed from the due list. Each asserts what the hub then holds."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import DESTINATION, ORIGIN, ConsoleWorld, screenshot, sign_in

STATES = """query($state: TransferStateKind) { membershipTransfers(filter: {state: $state},
  first: 50) { nodes { number state memberKey requesterParty originParty receivingParty } } }"""
ONE = """query($key: ID!) { membershipTransfers(filter: {memberKey: $key}, first: 10) {
  nodes { number state } } }"""


def transfers(world: ConsoleWorld, state: str, party: str = ORIGIN) -> list[dict[str, Any]]:
    body = world.graphql(party, STATES, {"state": state})
    nodes: list[dict[str, Any]] = body["data"]["membershipTransfers"]["nodes"]
    return [n for n in nodes if n["originParty"] == ORIGIN
            and n["receivingParty"] == DESTINATION]


def state_of(world: ConsoleWorld, number: int) -> str:
    """The transfer's state as the hub holds it. Asked of the receiving party too: once a
    completed transfer moved the member to a 成都 branch, the old origin may no longer see
    the member, nor the transfer (hub.api.types.transfers)."""
    for state in ("REQUESTED", "APPROVED", "ACCEPTED", "COMPLETED", "REJECTED", "WITHDRAWN"):
        for party in (ORIGIN, DESTINATION):
            if any(t["number"] == number for t in transfers(world, state, party)):
                return state
    raise AssertionError(f"transfer {number} not found")


def open_transfers(browser: Any, world: ConsoleWorld, party: str, *, width: str = "desk",
                   show: str = "open") -> Any:
    page = sign_in(browser, world.console(party), width=width)
    page.goto(world.console(party).url + f"/transfers?show={show}")
    return page


def test_accept_then_complete_each_by_its_party(console_world: ConsoleWorld,
                                                browser: Any) -> None:
    world = console_world
    number = transfers(world, "APPROVED")[0]["number"]
    page = open_transfers(browser, world, DESTINATION)
    row = page.locator(f"#transfer-{number}")
    assert "待转入方接收" in row.inner_text() and "轮到本方办理" in row.inner_text()
    assert row.locator("button", has_text="同意转出").count() == 0  # the origin's step
    screenshot(page, "transfers")
    fields = {name: row.locator(f"form[action*='/accept'] input[name={name}]").get_attribute(
        "value") for name in ("csrf_token", "idempotency_key")}
    action = row.locator("form[action*='/accept']").get_attribute("action")
    row.locator("button", has_text="接收").click()
    page.wait_for_load_state("networkidle")
    assert "已接收" in page.locator("p.flash.ok").inner_text()
    assert state_of(world, number) == "ACCEPTED"
    # the same form sent again (a double submit): the hub answers the entry it recorded
    again = page.request.post(world.console(DESTINATION).url + str(action), form=fields)
    assert again.ok  # the redirect back to the list, which shows the flash
    assert "此前已提交过，未重复记录" in again.text(), again.text()[-3000:]
    entries = world.sql("SELECT COUNT(*), MAX(official) FROM exchange_entries WHERE "
                        "idempotency_key = ?", fields["idempotency_key"])
    assert entries[0] == (1, world.console(DESTINATION).user)
    page.context.close()

    page = open_transfers(browser, world, ORIGIN)
    row = page.locator(f"#transfer-{number}")
    assert "待流出地办结" in row.inner_text() and "轮到本方办理" in row.inner_text()
    row.locator("button", has_text="办结转接").click()
    page.wait_for_load_state("networkidle")
    assert "已办结" in page.locator("p.flash.ok").inner_text()
    assert state_of(world, number) == "COMPLETED"
    assert page.locator(f"#transfer-{number}").count() == 0  # no longer among the open ones
    completed = world.sql("SELECT official FROM exchange_entries WHERE action = "
                          "'transfer_completion' ORDER BY id DESC LIMIT 1")
    assert completed == [(world.console(ORIGIN).user,)]
    page.context.close()


def test_the_hub_refuses_the_wrong_party_and_a_stale_page(console_world: ConsoleWorld,
                                                          browser: Any) -> None:
    world = console_world
    number = transfers(world, "REQUESTED")[0]["number"]
    # 成都 is not offered 同意转出; a forged form for it is refused by the hub (WRONG_PARTY)
    page = open_transfers(browser, world, DESTINATION)
    row = page.locator(f"#transfer-{number}")
    assert "等待 叙州区委组织部" in row.inner_text()
    assert row.locator("button", has_text="同意转出").count() == 0
    page.evaluate("""([number, csrf]) => {
        const form = document.createElement('form');
        form.method = 'post'; form.action = `/transfers/${number}/approve`;
        form.innerHTML = `<input name="csrf_token" value="${csrf}">`;
        document.body.appendChild(form); form.submit(); }""",
                  [number, page.locator("input[name=csrf_token]").first.get_attribute("value")])
    page.wait_for_load_state("networkidle")
    error = page.locator("p.flash.error").inner_text()
    assert "按协议规定，这一步应由另一方办理" in error and "{" not in error, error
    assert state_of(world, number) == "REQUESTED"
    page.context.close()

    # 叙州 has the page open twice; it approves in one, then again from the stale other
    stale = open_transfers(browser, world, ORIGIN)
    fresh = open_transfers(browser, world, ORIGIN)
    fresh.locator(f"#transfer-{number} button", has_text="同意转出").click()
    fresh.wait_for_load_state("networkidle")
    assert "已同意转出" in fresh.locator("p.flash.ok").inner_text()
    assert state_of(world, number) == "APPROVED"
    assert "待转入方接收" in fresh.locator(f"#transfer-{number}").inner_text()
    stale.locator(f"#transfer-{number} button", has_text="同意转出").click()
    stale.wait_for_load_state("networkidle")
    error = stale.locator("p.flash.error").inner_text()
    assert "当前所处的环节不允许这一步操作" in error, error
    assert state_of(world, number) == "APPROVED"
    screenshot(stale, "transfers-refused")
    stale.context.close()
    fresh.context.close()


DUE = """{ membersDueForStep(step: FLOATING_BRANCH, first: 100) { nodes { member {
  key destination { organization { code } } } } } }"""


def due_member(world: ConsoleWorld, destination_prefix: str) -> str | None:
    """A member due for the floating branch, living where `destination_prefix` says, with no
    open transfer."""
    nodes = world.graphql(ORIGIN, DUE)["data"]["membersDueForStep"]["nodes"]
    for node in nodes:
        branch = (node["member"]["destination"] or {}).get("organization") or {}
        key = node["member"]["key"]
        if (branch.get("code") or "").startswith(destination_prefix):
            held = world.graphql(ORIGIN, ONE, {"key": key})["data"]["membershipTransfers"]
            if not held["nodes"]:
                return str(key)
    return None


def test_request_a_transfer_from_the_due_list(console_world: ConsoleWorld,
                                              browser: Any) -> None:
    world = console_world
    page = open_transfers(browser, world, ORIGIN, width="phone")
    links = page.locator("#due-floating li a.apply")
    assert links.count() > 0
    assert (links.first.get_attribute("href") or "").startswith("/transfers?member=")
    member = due_member(world, "510")  # at a 成都 branch: the bilateral contract covers it
    assert member is not None
    page.goto(world.console(ORIGIN).url + f"/transfers?member={member}#request")
    form = page.locator("#request-form")
    assert form.locator("input[name=member]").input_value() == member
    assert form.locator("input[name=organization]").input_value().startswith("511502")
    assert form.locator("input[name=to]").input_value().startswith("510")
    form.locator("textarea[name=reason]").fill("长期在流入地工作生活，本人愿意转接")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "已提交转接申请" in page.locator("p.flash.ok").inner_text()
    held = world.graphql(ORIGIN, ONE, {"key": member})["data"]["membershipTransfers"]["nodes"]
    assert [t["state"] for t in held] == ["REQUESTED"]
    assert "待流出地同意" in page.locator("#transfers tbody tr").first.inner_text()

    # a member at a 浙江 branch: no contract gives 叙州 the transfer permission for them
    elsewhere = due_member(world, "330")
    if elsewhere is not None:
        page.goto(world.console(ORIGIN).url + f"/transfers?member={elsewhere}#request")
        page.locator("#request-form button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        error = page.locator("p.flash.error").inner_text()
        assert "转接申请未能提交" in error and "协议未授权" in error, error
        assert world.graphql(ORIGIN, ONE, {"key": elsewhere})["data"][
            "membershipTransfers"]["nodes"] == []
    # a malformed form is said on the page, not sent
    form = page.locator("#request-form")
    form.locator("input[name=member]").fill("x")
    form.locator("input[name=organization]").fill("511502V001")
    form.locator("input[name=to]").fill("511502F002")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "成员键" in page.locator("p.flash.error").first.inner_text()
    page.context.close()


def test_a_step_without_the_form_token_is_refused(console_world: ConsoleWorld,
                                                  browser: Any) -> None:
    world = console_world
    number = transfers(world, "APPROVED")[0]["number"] if transfers(world, "APPROVED") else 1
    page = open_transfers(browser, world, DESTINATION)
    answer = page.request.post(world.console(DESTINATION).url + f"/transfers/{number}/accept",
                               form={"idempotency_key": "forged-key-123"})
    assert answer.status == 403 and "表单已过期" in answer.text()
    assert world.sql("SELECT COUNT(*) FROM exchange_entries WHERE idempotency_key = ?",
                     "forged-key-123")[0][0] == 0
    page.context.close()
