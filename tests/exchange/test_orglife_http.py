"""Workflow 4, organisation life, over real HTTP: 温江 (destination) records a branch meeting
with everyone's attendance and the guests in one mutation; participation counts online and
by report; `Member.activities` is a connection; compliance lists members below the rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.trusted import Trusted
from tests.exchange.workflows_world import (
    RECORD_LIFE,
    codes,
    rows,
    wf,  # noqa: F401  (fixture)
)

MODES = ["PRESENT", "PRESENT", "PRESENT", "ONLINE", "ONLINE", "BY_REPORT", "EXCUSED",
         "EXCUSED", "ABSENT", "PRESENT"]
ACTIVITIES = """query($k: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  member(key: $k) { activities(first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { mode activity { title kind } } } } }"""
COMPLIANCE = """query($o: ID!, $y: Int, $below: Boolean) {
  organizationLifeCompliance(organization: $o, year: $y, belowOnly: $below, first: 100) {
    totalCount nodes { member { key } year activities onSite compliant shortfalls } } }"""


def activity(**overrides: Any) -> dict[str, Any]:
    return {"kind": "THEMED_PARTY_DAY", "title": "主题党日：重温入党誓词",
            "startTime": "2026-03-05T19:00:00+08:00", "online": False, **overrides}


def attendance(t: Trusted, modes: list[str], start: int = 0) -> list[dict[str, str]]:
    return [{"memberKey": t.world.keys[start + i], "mode": m} for i, m in enumerate(modes)]


async def record(t: Trusted, party: str = "wenjiang", org: str = "WJ-YQ", *,
                 modes: list[str] = MODES, guests: int = 3, key: str | None = None,
                 **act: Any) -> dict[str, Any]:
    return await t.gql(RECORD_LIFE, {"o": org, "a": activity(**act),
                                     "att": attendance(t, modes), "g": guests, "key": key},
                       party=party)


async def test_one_mutation_records_the_activity_and_everyones_attendance(wf: Trusted) -> None:
    body = await record(wf)
    assert "errors" not in body, body
    receipt = body["data"]["recordOrganizationLife"]
    assert receipt["entry"]["action"] == "organization_life"
    assert receipt["entry"]["memberKey"] is None
    summary = receipt["activity"]["attendance"]
    assert summary == {"expected": 10, "present": 4, "online": 2, "excused": 2, "byReport": 1,
                       "guests": 3, "participationRate": pytest.approx(0.7)}
    # one audit decision for the entry, naming every member recorded
    await wf.trust.audit_log.drain()
    bodies = [r.body for r in await rows(wf, "SELECT body FROM audit_entries ORDER BY seq")]
    import json

    mine = [json.loads(b) for b in bodies if '"entry"' in b]
    assert len(mine) == 1 and sorted(mine[0]["members"]) == sorted(wf.world.keys[:10])

    # both sides see it among the member's activities (the origin is granted them)
    for party in ("wenjiang", "luxian"):
        acts = (await wf.gql(ACTIVITIES, {"k": wf.world.keys[5]}, party=party))
        nodes = acts["data"]["member"]["activities"]["nodes"]
        assert {"mode": "BY_REPORT", "activity": {"title": "主题党日：重温入党誓词",
                                                  "kind": "THEMED_PARTY_DAY"}} in nodes


async def test_member_activities_is_a_connection(wf: Trusted) -> None:
    for month in range(1, 6):
        await record(wf, startTime=f"2026-0{month}-05T19:00:00+08:00", title=f"{month}月主题党日")
    key = wf.world.keys[0]  # also at the synced activity city:a1
    page = (await wf.gql(ACTIVITIES, {"k": key, "first": 2}, party="wenjiang"))["data"]
    acts = page["member"]["activities"]
    assert acts["totalCount"] == 6 and acts["pageInfo"]["hasNextPage"] is True
    assert [n["activity"]["title"] for n in acts["nodes"]][1] == "1月主题党日"
    tail = (await wf.gql(ACTIVITIES, {"k": key, "last": 2}, party="wenjiang"))["data"]
    assert [n["activity"]["title"] for n in tail["member"]["activities"]["nodes"]] == \
        ["4月主题党日", "5月主题党日"]
    cursor = tail["member"]["activities"]["pageInfo"]["startCursor"]
    before = (await wf.gql(ACTIVITIES, {"k": key, "last": 1, "before": cursor},
                           party="wenjiang"))["data"]
    assert [n["activity"]["title"] for n in before["member"]["activities"]["nodes"]] == \
        ["3月主题党日"]


async def test_compliance_lists_members_below_the_rules(wf: Trusted) -> None:
    online_only = ["ONLINE"] * 5 + ["PRESENT"] * 5
    for month in range(1, 5):
        await record(wf, modes=online_only, startTime=f"2026-0{month}-05T19:00:00+08:00")
    body = await wf.gql(COMPLIANCE, {"o": "WJ-YQ", "y": 2026}, party="wenjiang")
    listed = {n["member"]["key"]: n for n in
              body["data"]["organizationLifeCompliance"]["nodes"]}
    # members 0-4 took part four times, online only: below the on-site rule (004)
    assert listed[wf.world.keys[0]]["shortfalls"] == ["ON_SITE"]
    assert listed[wf.world.keys[0]]["activities"] == 4
    # members 5-9 were there four times on site: compliant, not listed
    assert wf.world.keys[5] not in listed
    # the rest took part in nothing: below both rules
    assert listed[wf.world.keys[20]]["shortfalls"] == ["ON_SITE", "ACTIVITIES"]
    assert body["data"]["organizationLifeCompliance"]["totalCount"] == 55
    everyone = await wf.gql(COMPLIANCE, {"o": "WJ-YQ", "y": 2026, "below": False},
                            party="wenjiang")
    assert everyone["data"]["organizationLifeCompliance"]["totalCount"] == 60
    # the origin sees the same for its branch; a party that sees nobody sees nobody
    origin = await wf.gql(COMPLIANCE, {"o": "LX-YS", "y": 2026}, party="luxian")
    assert origin["data"]["organizationLifeCompliance"]["totalCount"] == 56
    # listing a branch's members tests their organisations: the observer is granted none
    observer = await wf.gql(COMPLIANCE, {"o": "WJ-YQ", "y": 2026}, party="sichuan")
    assert codes(observer) == {"CONTRACT_DENIED"}


async def test_volunteer_hours_earn_points(wf: Trusted) -> None:
    body = await record(wf, kind="VOLUNTEER_SERVICE", title="党员志愿服务：社区环境整治",
                        hours=2.5, modes=["PRESENT", "ONLINE", "EXCUSED", "BY_REPORT"])
    assert "errors" not in body, body
    points = await rows(wf, "SELECT member_key, points, rule FROM exchange_points "
                            "ORDER BY member_key")
    assert sorted((p.member_key, p.points, p.rule) for p in points) == sorted(
        [(wf.world.keys[0], 5, "volunteer_hour"), (wf.world.keys[1], 5, "volunteer_hour")])


async def test_each_denial_writes_nothing(wf: Trusted) -> None:
    # no permission: the origin has no `attendance` record permission
    assert codes(await record(wf, "luxian", "LX-YS")) == {"CONTRACT_DENIED"}
    # wrong organisation: 温江 at 泸县's branch
    assert codes(await record(wf, "wenjiang", "LX-YS")) == {"CONTRACT_DENIED"}
    # out of scope: one member of the list is not 温江's to see
    outsider = await wf.gql(RECORD_LIFE, {
        "o": "WJ-YQ", "a": activity(), "g": 0,
        "att": [*attendance(wf, ["PRESENT"] * 3),
                {"memberKey": wf.world.keys[60], "mode": "PRESENT"}]}, party="wenjiang")
    assert codes(outsider) == {"NOT_FOUND"}
    # 德阳's contract and the observer's role give no `attendance` permission at all
    assert codes(await record(wf, "deyang", "WJ-YQ")) == {"CONTRACT_DENIED"}
    assert codes(await record(wf, "sichuan", "WJ-YQ")) == {"CONTRACT_DENIED"}
    assert await rows(wf, "SELECT id FROM exchange_entries") == []
    assert await rows(wf, "SELECT key FROM activities WHERE source = '@exchange'") == []


async def test_bad_payloads_and_idempotent_retries(wf: Trusted) -> None:
    hours_at_a_meeting = await record(wf, hours=2.0)
    assert codes(hours_at_a_meeting) == {"BAD_USER_INPUT"}
    twice = await wf.gql(RECORD_LIFE, {"o": "WJ-YQ", "a": activity(), "g": 0, "att": [
        {"memberKey": wf.world.keys[0], "mode": "PRESENT"},
        {"memberKey": wf.world.keys[0], "mode": "ONLINE"}]}, party="wenjiang")
    assert codes(twice) == {"BAD_USER_INPUT"} and "twice" in twice["errors"][0]["message"]
    nobody = await wf.gql(RECORD_LIFE, {"o": "WJ-YQ", "a": activity(), "g": 0, "att": []},
                          party="wenjiang")
    assert codes(nobody) == {"BAD_USER_INPUT"}
    for bad in ({"guests": -1}, {"startTime": "2026-03-05T19:00:00"}, {"title": ""}):
        guests = bad.pop("guests", 0)
        body = await wf.gql(RECORD_LIFE, {"o": "WJ-YQ", "a": activity(**bad), "g": guests,
                                          "att": attendance(wf, ["PRESENT"])},
                            party="wenjiang")
        assert codes(body) == {"BAD_USER_INPUT"}, (bad, body)
    assert await rows(wf, "SELECT id FROM exchange_entries") == []
    first = await record(wf, key="meeting-1")
    again = await record(wf, key="meeting-1")
    assert again["data"]["recordOrganizationLife"]["replayed"] is True
    assert codes(await record(wf, key="meeting-1", guests=4)) == {"IDEMPOTENCY_CONFLICT"}
    assert first["data"]["recordOrganizationLife"]["entry"]["number"] == \
        again["data"]["recordOrganizationLife"]["entry"]["number"]
    assert len(await rows(wf, "SELECT key FROM activities WHERE source = '@exchange'")) == 1
    assert len(await rows(wf, "SELECT id FROM attendance WHERE source = '@exchange'")) == 10


SUBMIT_ABSENCE = """mutation($k: ID!, $a: ID!) {
  submitReport(memberKey: $k, organization: "WJ-YQ", kind: ABSENCE, activity: $a,
               text: "在外地出差，已向村党支部报告") { entry { number } } }"""
STATS = """{ statistics(measure: PARTICIPATION_RATE, year: 2026, first: 50) {
  nodes { row column count value suppressed } } }"""


async def test_an_absence_reported_counts_as_taking_part_by_report(wf: Trusted) -> None:
    """双报 (004): a member recorded excused who reported the absence to the origin branch
    took part by report, in compliance and in participation rates alike."""
    from hub.api.types.node import to_global_id
    from hub.exchange.orglife import activity_key

    modes = ["PRESENT"] * 5 + ["EXCUSED"] * 10 + ["PRESENT"] * 5
    numbers = []
    for month in range(1, 5):
        body = await record(wf, modes=modes, startTime=f"2026-0{month}-05T19:00:00+08:00")
        numbers.append(body["data"]["recordOrganizationLife"]["entry"]["number"])
    before = await wf.gql(COMPLIANCE, {"o": "WJ-YQ", "y": 2026, "below": False},
                          party="wenjiang")
    row = {n["member"]["key"]: n for n in
           before["data"]["organizationLifeCompliance"]["nodes"]}
    assert row[wf.world.keys[6]]["activities"] == 0
    rate = {(n["row"], n["column"]): n for n in
            (await wf.gql(STATS, party="sichuan"))["data"]["statistics"]["nodes"]}
    assert rate[("WJ-YQ", "2026-01")]["value"] == 0.5
    for number in numbers:  # member 6 reported each absence
        activity = to_global_id("Activity", activity_key(number))
        body = await wf.gql(SUBMIT_ABSENCE, {"k": wf.world.keys[6], "a": activity},
                            party="wenjiang")
        assert "errors" not in body, body
    after = await wf.gql(COMPLIANCE, {"o": "WJ-YQ", "y": 2026, "below": False},
                         party="wenjiang")
    row = {n["member"]["key"]: n for n in
           after["data"]["organizationLifeCompliance"]["nodes"]}
    assert row[wf.world.keys[6]]["activities"] == 4
    assert row[wf.world.keys[6]]["shortfalls"] == ["ON_SITE"]
    rate = {(n["row"], n["column"]): n for n in
            (await wf.gql(STATS, party="sichuan"))["data"]["statistics"]["nodes"]}
    assert rate[("WJ-YQ", "2026-01")]["value"] == 0.55
