"""组织生活 in a real browser: 成都 records a themed party day with everyone's attendance in
one form; the participation rate follows the form as it is filled in (2 on site, 1 online,
1 by report, 1 excused: 80 %, as the hub computes it), the hub's figure is shown after saving,
and the ledger holds one `organization_life` entry recorded by the signed-in official (the
audit names them too). Also: the members below the yearly minimum, a double submit recorded
once, bad input said before asking the hub, an origin party refused with the contract's
reason, and a form posted without its CSRF token refused with nothing recorded."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from typing import Any

import httpx
import pytest

from console.messages import MESSAGES
from console.participation import Tally, percent, tally
from hub.exchange.participation import count_modes
from tests.console.conftest import DESTINATION, ORIGIN, ConsoleWorld, screenshot, sign_in

BRANCH = "510117D001"  # 郫都区犀浦街道犀和社区流入党员党支部, held by 成都's system
ORIGIN_BRANCH = "511502V001"  # 高场镇高场村党支部, held by 叙州's county system
MODES = ["PRESENT", "PRESENT", "ONLINE", "BY_REPORT", "EXCUSED"]
LIFE_ENTRIES = "SELECT COUNT(*) FROM exchange_entries WHERE action = 'organization_life'"


def _form_page(world: ConsoleWorld, party: str, org: str) -> tuple[httpx.Client, str, str]:
    """A signed-in client on `org`'s form page: the client, the page's HTML, its CSRF token."""
    console = world.console(party)
    client = httpx.Client(base_url=console.url, follow_redirects=False, timeout=30)
    response = client.post("/login", data={"user": console.user, "password": console.password})
    assert response.status_code == 303, response.text
    page = client.get(f"/orglife?org={org}")
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client, page.text, token.group(1)


def _recordable(world: ConsoleWorld, org: str = BRANCH) -> list[str]:
    """Members of `org` 成都 may record attendance for: those the two-party contract with 叙州
    covers (it grants `attendance`; the regional one, covering the branch's other members,
    does not)."""
    body = world.graphql(DESTINATION, """query($o: ID!) { organization(code: $o) {
      members(first: 100) { nodes { key } } } }""", {"o": org})
    keys = [n["key"] for n in body["data"]["organization"]["members"]["nodes"]]
    return world.covered(keys, origins=("511502",))


def _form(html: str, token: str | None, modes: list[str], keys: list[str] | None = None,
          **overrides: str) -> dict[str, str]:
    keys = keys if keys is not None else re.findall(r'name="mode-([^"]+)"', html)
    idem = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    org = re.search(r'name="organization" value="([^"]+)"', html)
    assert idem is not None and org is not None and len(keys) >= len(modes)
    form = {"organization": org.group(1), "idempotency_key": idem.group(1),
            "kind": "PARTY_LECTURE", "title": "党课：学习党章", "day": "2026-06-12",
            "time": "19:30", "guests": "0",
            **{f"mode-{k}": m for k, m in zip(keys, modes, strict=False)}, **overrides}
    if token is not None:
        form["csrf_token"] = token
    return form


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4])
def test_the_console_computes_the_rate_as_the_hub_does(size: int) -> None:
    """Every mix of modes of up to four members: same counts, same rate."""
    modes = ["PRESENT", "ONLINE", "BY_REPORT", "EXCUSED", "ABSENT"]
    for mix in itertools.product(modes, repeat=size):
        ours, hubs = tally(mix), count_modes(m.lower() for m in mix)
        assert (ours.expected, ours.attended) == (hubs.expected, hubs.attended)
        assert ours.rate == hubs.rate
    assert percent(Tally(present=2, online=1, by_report=1, excused=1).rate) == "80%"
    assert percent(2 / 3) == "66.7%" and percent(None) == "—"


def test_record_an_activity_and_its_attendance(console_world: ConsoleWorld,
                                               browser: Any) -> None:
    console = console_world.console(DESTINATION)
    page = sign_in(browser, console)
    page.goto(console.url + "/orglife")
    assert page.locator("h1").inner_text() == "组织生活"
    page.select_option("#orglife-org select[name=org]", BRANCH)
    page.click("#orglife-org button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "郫都区犀浦街道犀和社区流入党员党支部" in page.locator("h2").first.inner_text()
    before = console_world.sql(LIFE_ENTRIES)[0][0]

    page.select_option("#life-form select[name=kind]", "THEMED_PARTY_DAY")
    page.fill("#life-form input[name=title]", "主题党日：重温入党誓词（控制台）")
    page.fill("#life-form input[name=day]", "2026-07-01")
    page.fill("#life-form input[name=time]", "19:30")
    page.fill("#life-form input[name=guests]", "3")
    keys = _recordable(console_world)
    assert len(keys) >= len(MODES)
    expected_rates = ["100%", "100%", "100%", "100%", "80%"]
    for index, (mode, rate) in enumerate(zip(MODES, expected_rates, strict=True)):
        page.select_option(f'#attendance select[name="mode-{keys[index]}"]', mode)
        # the rate follows the form as it is filled in (htmx asks the console each change)
        page.wait_for_function(
            "([n, r]) => document.getElementById('rate-detail').textContent.includes("
            "'应到 ' + n + ' 人') && document.getElementById('rate-value').textContent === r",
            arg=[index + 1, rate])
    assert page.locator("#rate-value").get_attribute("data-rate") == "0.8"
    screenshot(page, "orglife")
    page.click("#life-form button[type=submit]")
    page.wait_for_load_state("networkidle")

    assert page.locator("p.error").count() == 0, page.locator("p.error").all_inner_texts()
    flash = page.locator("p.flash").inner_text()
    assert "已记录" in flash and "参与率 80%" in flash, flash
    assert "应到 5 人" in flash and "列席 3 人" in flash, flash
    assert console_world.sql(LIFE_ENTRIES)[0][0] == before + 1

    # the ledger: one entry, recorded by the official signed in to the console
    rows = console_world.sql(
        "SELECT id, party, official, organization, payload FROM exchange_entries "
        "WHERE action = 'organization_life' ORDER BY id DESC LIMIT 1")
    number, party, official, organization, payload = rows[0]
    assert (party, official, organization) == (DESTINATION, console.user, BRANCH)
    body = json.loads(payload)
    assert body["title"] == "主题党日：重温入党誓词（控制台）" and body["guests"] == 3
    assert sorted(body["modes"]) == sorted(m.lower() for m in MODES)
    assert f"台账第 {number} 号" in flash
    # ... and the audit decision for it names the same official
    audit = console_world.sql("SELECT body FROM audit_entries WHERE body LIKE ?",
                              f'%"entry":{number}%')
    assert audit and json.loads(audit[-1][0])["user"] == console.user
    # the hub answers the same through GraphQL, with its own participation rate
    answer = console_world.graphql(DESTINATION, """
      query($o: ID!) { exchangeEntries(filter: {actions: ["organization_life"],
        organization: $o}, last: 1) { nodes { number official payload } } }""", {"o": BRANCH})
    assert "errors" not in answer, answer
    entry = answer["data"]["exchangeEntries"]["nodes"][0]
    assert (entry["number"], entry["official"]) == (number, console.user)
    answer = console_world.graphql(DESTINATION, """
      query($k: ID!) { member(key: $k) { activities(last: 1) {
        nodes { mode activity { title attendance { expected participationRate } } } } } }""",
                                   {"k": keys[0]})
    assert "errors" not in answer, answer
    latest = answer["data"]["member"]["activities"]["nodes"][0]
    assert latest["mode"] == "PRESENT"
    assert latest["activity"]["title"] == "主题党日：重温入党誓词（控制台）"
    assert latest["activity"]["attendance"] == {"expected": 5, "participationRate": 0.8}
    page.context.close()


def test_members_below_the_yearly_minimum(console_world: ConsoleWorld, browser: Any) -> None:
    """叙州 sees its village branch's members below one on-site activity or four a year."""
    console = console_world.console(ORIGIN)
    page = sign_in(browser, console, width="phone")
    page.goto(console.url + f"/orglife?org={ORIGIN_BRANCH}&year=2026")
    # a name the contracts withhold is said as such, not as a refusal of the page
    warnings = page.locator("p.warning").all_inner_texts()
    assert not any(w.startswith(MESSAGES["CONTRACT_DENIED"]) for w in warnings), warnings
    total = int(page.locator("#below-total").inner_text())
    assert total > 0
    shown = page.locator("#compliance tbody tr")
    assert shown.count() == min(total, 50)
    text = page.locator("#compliance").inner_text()
    assert "每年至少 1 次现场参加" in text or "每年至少 4 次" in text
    answer = console_world.graphql(ORIGIN, """query($o: ID!) {
      organizationLifeCompliance(organization: $o, year: 2026) { totalCount } }""",
                                   {"o": ORIGIN_BRANCH})
    assert answer["data"]["organizationLifeCompliance"]["totalCount"] == total
    screenshot(page, "orglife-compliance")
    page.context.close()


def test_an_origin_party_is_told_why_it_may_not_record(console_world: ConsoleWorld) -> None:
    """The contracts give the attendance permission to the destinations only."""
    client, html, token = _form_page(console_world, ORIGIN, ORIGIN_BRANCH)
    with contextlib.closing(client):
        before = console_world.sql(LIFE_ENTRIES)
        refused = client.post("/orglife", data=_form(html, token, ["PRESENT", "ONLINE"]))
        assert refused.status_code == 400
        errors = re.findall(r'<p class="error" role="alert">([^<]*)</p>', refused.text)
        assert len(errors) == 1 and "双向共管协议未授权" in errors[0] and "{" not in errors[0]
        # the form comes back as filled in
        assert 'value="党课：学习党章"' in refused.text
        assert console_world.sql(LIFE_ENTRIES) == before


def test_a_double_submit_records_once(console_world: ConsoleWorld) -> None:
    client, html, token = _form_page(console_world, DESTINATION, BRANCH)
    with contextlib.closing(client):
        form = _form(html, token, ["PRESENT", "ABSENT", "EXCUSED"], _recordable(console_world),
                     title="党小组会：双击测试")
        before = console_world.sql(LIFE_ENTRIES)[0][0]
        first = client.post("/orglife", data=form)
        second = client.post("/orglife", data=form)
        assert first.status_code == second.status_code == 303
        assert console_world.sql(LIFE_ENTRIES)[0][0] == before + 1
        shown = client.get(second.headers["location"]).text
        assert "未重复记录" in shown and "参与率 33.3%" in shown


def test_bad_input_is_said_before_asking_the_hub(console_world: ConsoleWorld) -> None:
    client, html, token = _form_page(console_world, DESTINATION, BRANCH)
    with contextlib.closing(client):
        before = console_world.sql(LIFE_ENTRIES)
        cases = [
            ({"title": "  "}, "请填写活动名称"),
            ({"title": "长" * 301}, "最多 300 个字"),
            ({"day": "2026-13-40"}, "请填写活动日期"),
            ({"time": "25:00"}, "开始时间"),
            ({"guests": "-1"}, "列席人数"),
            ({"kind": "PICNIC"}, "请选择活动类型"),
            ({"organization": "330102D001"}, "请选择本方的党组织"),  # 浙江's branch
            ({"mode-../../etc": "PRESENT"}, "参加方式填写有误"),
            ({"idempotency_key": "x"}, "表单已过期"),
        ]
        for overrides, sentence in cases:
            answer = client.post("/orglife", data={**_form(html, token, ["PRESENT"]), **overrides})
            assert answer.status_code == 400 and sentence in answer.text, (overrides, sentence)
        nobody = client.post("/orglife", data=_form(html, token, []))
        assert nobody.status_code == 400 and "请至少为一名党员选择参加方式" in nobody.text
        assert console_world.sql(LIFE_ENTRIES) == before


def test_a_post_without_its_csrf_token_is_refused_and_records_nothing(
        console_world: ConsoleWorld) -> None:
    client, html, token = _form_page(console_world, DESTINATION, BRANCH)
    with contextlib.closing(client):
        before = console_world.sql(LIFE_ENTRIES)
        form = _form(html, None, ["PRESENT", "PRESENT"], title="无令牌提交")
        refused = client.post("/orglife", data=form)
        assert refused.status_code == 403 and "表单已过期或不是从本工作台提交的" in refused.text
        forged = client.post("/orglife", data={**form, "csrf_token": "forged"})
        assert forged.status_code == 403
        # the rate endpoint is guarded the same way (htmx sends the token as a header)
        assert client.post("/orglife/rate", data=form).status_code == 403
        rate = client.post("/orglife/rate", data=form, headers={"X-CSRF-Token": token})
        assert rate.status_code == 200 and 'data-rate="1"' in rate.text
        assert console_world.sql(LIFE_ENTRIES) == before
        assert console_world.sql("SELECT COUNT(*) FROM exchange_entries WHERE payload LIKE ?",
                                 "%无令牌提交%")[0][0] == 0


def test_a_member_the_contracts_do_not_cover_is_named(console_world: ConsoleWorld) -> None:
    """The regional contract lets 成都 see a member but not record their attendance: the
    hub's refusal names the member (extensions.memberKey), the page says who, by name, and
    marks the row; nothing is recorded."""
    body = console_world.graphql(DESTINATION, """query($o: ID!) { organization(code: $o) {
      members(first: 100) { nodes { key name } } } }""", {"o": BRANCH})
    names = {n["key"]: n["name"] for n in body["data"]["organization"]["members"]["nodes"]}
    recordable = _recordable(console_world)
    outsider = next(k for k in names if k not in recordable and names[k])
    # the hub's refusal names the member it stopped at, in extensions.memberKey
    direct = console_world.graphql(DESTINATION, """
      mutation($o: ID!, $att: [AttendanceInput!]!) { recordOrganizationLife(organization: $o,
        activity: {kind: PARTY_LECTURE, title: "x", startTime: "2026-06-12T19:30:00+08:00"},
        attendance: $att) { entry { number } } }""", {"o": BRANCH, "att": [
        {"memberKey": recordable[0], "mode": "PRESENT"},
        {"memberKey": outsider, "mode": "PRESENT"}]})
    assert direct["data"] is None
    assert direct["errors"][0]["extensions"] == {
        "code": "CONTRACT_DENIED", "fields": ["Mutation.recordOrganizationLife"],
        "memberKey": outsider}
    client, html, token = _form_page(console_world, DESTINATION, BRANCH)
    with contextlib.closing(client):
        before = console_world.sql(LIFE_ENTRIES)
        form = _form(html, token, ["PRESENT", "PRESENT"], [recordable[0], outsider],
                     title="党员大会：协议范围")
        refused = client.post("/orglife", data=form)
        assert refused.status_code == 400
        errors = re.findall(r'<p class="error" role="alert">([^<]*)</p>', refused.text)
        assert errors == [f"双向共管协议未授予本方为党员{names[outsider]}记录组织生活出勤的权限，"
                          "请将其参加方式改为“不列入”后再保存。"]
        marked = re.search(r'<tr class="refused" id="refused-member">\s*<td[^>]*><a href='
                           r'"/members/([^"]+)"', refused.text)
        assert marked is not None and marked.group(1) == outsider
        assert console_world.sql(LIFE_ENTRIES) == before
