"""年终发函 in a real browser: 成都 (the destination) drafts a member's letter (the hub fills in
the year's attendance and points from its ledger), signs it with its key on the console's
server, downloads the PDF; 叙州 (the origin) acknowledges it. The hub's letter state, its
ledger entries (under the signed-in officials) and its audit are checked after each step;
each party sees only its own buttons, and the hub's WRONG_PARTY is shown as a sentence."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

from console.messages import MESSAGES
from tests.console.conftest import DESTINATION, ORIGIN, ConsoleWorld, screenshot, sign_in

LETTER = """
query($member: ID!, $year: Int!) {
  evaluationLetters(filter: {memberKey: $member, year: $year}) {
    nodes { number state memberName points senderParty recipientParty digest supersededBy
            signature { party kid } acknowledgement { party kid }
            attendance { activities } }
  }
}
"""
POINTS = """
query($member: ID!, $year: Int!) {
  points(filter: {memberKey: $member, year: $year}) { totalPoints }
}
"""


def _letter(world: ConsoleWorld, party: str, member: str, year: int) -> dict[str, Any]:
    nodes = world.graphql(party, LETTER, {"member": member, "year": year}
                          )["data"]["evaluationLetters"]["nodes"]
    live = [n for n in nodes if n["supersededBy"] is None]
    assert len(live) == 1, nodes
    return dict(live[0])


def _candidate(page: Any, world: ConsoleWorld) -> tuple[str, str]:
    """(key, name) of a member offered in the draft form whose origin is 叙州 (so the letter
    goes to the 叙州 console)."""
    options = page.locator("#draft-form select[name=member] option")
    offered = {options.nth(i).get_attribute("value") for i in range(options.count())}
    body = world.graphql(DESTINATION, """
      { members(filter: {originRegion: "511502"}, first: 100) { nodes { key name } } }""")
    for node in body["data"]["members"]["nodes"]:
        if node["key"] in offered and node["name"]:
            return str(node["key"]), str(node["name"])
    raise AssertionError("no member of 叙州 is offered in the draft form")


def _form(page: Any, row: Any, **extra: str) -> dict[str, str]:
    fields = {name: row.locator(f"input[name={name}]").first.input_value()
              for name in ("letter", "member", "year", "digest")}
    return {"csrf_token": page.locator("input[name=csrf_token]").first.input_value(),
            "idempotency_key": secrets.token_urlsafe(18), **fields, **extra}


def test_draft_sign_download_and_acknowledge_a_letter(console_world: ConsoleWorld,
                                                      browser: Any, tmp_path: Path) -> None:
    world = console_world
    chengdu = world.console(DESTINATION)
    page = sign_in(browser, chengdu)
    page.goto(chengdu.url + "/letters")
    year = int(page.locator("#draft-form select[name=year] option[selected]")
               .get_attribute("value"))
    key, name = _candidate(page, world)

    # draft: the destination writes performance and recommendation, the hub the figures
    page.select_option("#draft-form select[name=member]", key)
    page.select_option("#draft-form select[name=recommendation]", "COMMEND")
    page.fill("#draft-form textarea[name=performance]", "按时参加组织生活，积极参与社区志愿服务。")
    page.click("#draft-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "已起草第" in page.locator("p.flash.ok").inner_text()
    letter = _letter(world, DESTINATION, key, year)
    number = letter["number"]
    assert letter["state"] == "DRAFT" and letter["memberName"] == name
    assert (letter["senderParty"], letter["recipientParty"]) == (DESTINATION, ORIGIN)
    ledger = world.graphql(DESTINATION, POINTS, {"member": key, "year": year})
    assert letter["points"] == ledger["data"]["points"]["totalPoints"]
    row = page.locator(f"#drafts tr[data-letter='{number}']")
    assert name in row.inner_text() and "建议表彰" in row.inner_text()
    assert "确认收函" not in page.locator("main").inner_text()  # a destination acknowledges none
    assert page.locator("#received").count() == 0
    assert world.sql("SELECT action, party, official FROM exchange_entries WHERE id = ?",
                     number) == [("evaluation_letter", DESTINATION, chengdu.user)]

    # a letter whose text changed since the page was drawn is not signed
    stale = page.request.post(chengdu.url + "/letters/sign",
                              form=_form(page, row, digest="sha256:" + "0" * 64))
    assert "内容与页面上显示的不一致" in stale.text()
    assert _letter(world, DESTINATION, key, year)["state"] == "DRAFT"

    # sign: the console signs the payload with 成都's key, server-side
    page.goto(chengdu.url + "/letters")
    row = page.locator(f"#drafts tr[data-letter='{number}']")
    again = _form(page, row)
    again["idempotency_key"] = row.locator("input[name=idempotency_key]").input_value()
    row.locator("form[action='/letters/sign'] button").click()
    page.wait_for_load_state("networkidle")
    assert "已用本方密钥签署" in page.locator("p.flash.ok").inner_text()
    assert page.locator(f"#drafts tr[data-letter='{number}']").count() == 0
    sent = page.locator(f"#sent tr[data-letter='{number}']")
    assert sent.get_attribute("data-state") == "SIGNED"
    letter = _letter(world, DESTINATION, key, year)
    assert letter["state"] == "SIGNED" and letter["signature"]["party"] == DESTINATION
    assert letter["signature"]["kid"] == world.hub.trust.party_keys[DESTINATION][0]
    # the same form again (a double click): said, not signed twice
    assert "重复提交，未重复签署" in page.request.post(chengdu.url + "/letters/sign",
                                                 form=again).text()
    assert world.sql("SELECT action, party, official FROM exchange_entries WHERE answers = ? "
                     "AND action = 'evaluation_letter_signature'", number) == [
        ("evaluation_letter_signature", DESTINATION, chengdu.user)]

    # the PDF, proxied with the official's token: a real PDF naming the member
    with page.expect_download() as download_info:
        sent.locator("a.pdf").click()
    pdf = tmp_path / "letter.pdf"
    download_info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert name in text.replace(" ", ""), text[:400]
    assert world.sql("SELECT COUNT(*) FROM audit_entries WHERE body LIKE ? AND body LIKE ?",
                     "%EvaluationLetter.pdf%", f'%"user":"{chengdu.user}"%')[0][0] >= 1
    screenshot(page, "letters")

    # the destination has no acknowledge button; forging the form, the hub says WRONG_PARTY
    assert page.locator("form[action='/letters/acknowledge']").count() == 0
    refused = page.request.post(chengdu.url + "/letters/acknowledge", form={
        "csrf_token": page.locator("input[name=csrf_token]").first.input_value(),
        "idempotency_key": secrets.token_urlsafe(18), "letter": str(number), "member": key,
        "year": str(year), "digest": letter["digest"]})
    assert MESSAGES["WRONG_PARTY"] in refused.text()
    assert _letter(world, DESTINATION, key, year)["state"] == "SIGNED"
    page.context.close()

    # the origin: no draft form, the letter received with its acknowledge button
    xuzhou = world.console(ORIGIN)
    page = sign_in(browser, xuzhou)
    page.goto(xuzhou.url + f"/letters?year={year}")
    assert page.locator("#draft-form").count() == 0
    assert page.locator("form[action='/letters/sign']").count() == 0
    received = page.locator(f"#received tr[data-letter='{number}']")
    assert name in received.inner_text() and "待流出地确认" in received.inner_text()
    screenshot(page, "letters-origin")
    received.locator("form[action='/letters/acknowledge'] button").click()
    page.wait_for_load_state("networkidle")
    assert "已确认（会签）" in page.locator("p.flash.ok").inner_text()
    received = page.locator(f"#received tr[data-letter='{number}']")
    assert received.get_attribute("data-state") == "ACKNOWLEDGED"
    assert received.locator("form[action='/letters/acknowledge']").count() == 0
    letter = _letter(world, ORIGIN, key, year)
    assert letter["state"] == "ACKNOWLEDGED"
    assert letter["acknowledgement"]["party"] == ORIGIN
    assert world.sql("SELECT action, party, official FROM exchange_entries WHERE answers = ? "
                     "AND action = 'evaluation_letter_ack'", number) == [
        ("evaluation_letter_ack", ORIGIN, xuzhou.user)]
    # the origin downloads the same letter, now carrying both signatures
    response = page.request.get(xuzhou.url + f"/letters/{number}.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")
    assert response.headers["content-type"] == "application/pdf"
    page.context.close()


def test_a_letter_outside_the_partys_reach_is_explained(console_world: ConsoleWorld,
                                                        browser: Any) -> None:
    """A PDF the hub will not serve (no such letter) reads as a sentence, not JSON."""
    page = sign_in(browser, console_world.console(ORIGIN))
    response = page.goto(console_world.console(ORIGIN).url + "/letters/999999.pdf")
    assert response is not None
    text = page.locator("main").inner_text()
    assert MESSAGES["NOT_FOUND"] in text and "{" not in text
    page.context.close()
