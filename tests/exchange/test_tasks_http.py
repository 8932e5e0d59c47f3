"""Workflow 3, 一领 tasks and points, over real HTTP with each party's token: 泸县 (origin)
publishes, 温江 (destination) records claims of the members living there, the claim's recorder
reports completion, the publisher confirms or rejects; 德阳 has no task permission; the
observer 四川 sees no task and no person."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from tests.api.trusted import Trusted
from tests.exchange.workflows_world import (
    CLAIM,
    PUBLISH,
    REPORT,
    REVIEW,
    codes,
    rows,
    task_input,
    wf,  # noqa: F401  (fixture)
)

TASKS = """query($f: TaskFilter, $first: Int, $after: String, $last: Int, $before: String) {
  tasks(filter: $f, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { number title publisher kind organization { code }
      claims { totalCount nodes { number state evidence member { key } } } } } }"""
POINTS = """query($f: PointsFilter) { points(filter: $f) { totalCount totalPoints
  nodes { points rule ruleText year party entryNumber member { key } } } }"""


async def publish(t: Trusted, party: str = "luxian", org: str = "LX-YS",
                  **task: Any) -> dict[str, Any]:
    return await t.gql(PUBLISH, {"o": org, "t": task_input(**task)}, party=party)


async def claim(t: Trusted, task: int, member: int, party: str = "wenjiang",
                org: str = "WJ-YQ", key: str | None = None) -> dict[str, Any]:
    return await t.gql(CLAIM, {"task": task, "k": t.world.keys[member], "o": org, "key": key},
                       party=party)


async def test_the_whole_life_of_a_task_and_its_points(wf: Trusted) -> None:
    body = await publish(wf)
    assert "errors" not in body, body
    receipt = body["data"]["publishTask"]
    number = receipt["task"]["number"]
    assert receipt["entry"] == {"number": number, "action": "task_publish", "party": "luxian",
                                "organizations": ["LX-YS"]}
    assert receipt["task"]["open"] is True and receipt["task"]["claimed"] == 0

    claimed = await claim(wf, number, 0)
    assert "errors" not in claimed, claimed
    c = claimed["data"]["claimTask"]
    assert c["entry"]["answers"] == number and c["claim"]["state"] == "CLAIMED"
    assert c["task"] == {"claimed": 1} and c["member"] == {"key": wf.world.keys[0]}
    claim_no = c["claim"]["number"]

    reported = await wf.gql(REPORT, {"c": claim_no, "e": "已售出脐橙12箱，附订单截图"},
                            party="wenjiang")
    r = reported["data"]["reportTaskCompletion"]
    assert r["claim"] == {"state": "REPORTED", "evidence": "已售出脐橙12箱，附订单截图"}
    assert r["entry"]["answers"] == c["entry"]["number"]

    reviewed = await wf.gql(REVIEW, {"c": claim_no, "d": "CONFIRMED"}, party="luxian")
    v = reviewed["data"]["reviewTaskCompletion"]
    assert v["claim"] == {"state": "CONFIRMED"} and v["entry"]["answers"] == \
        r["entry"]["number"]

    # the points ledger: the rule that made each point, for the awarding party and for a
    # partner granted the member's organisation life (温江), not for 德阳 or the observer
    for party in ("luxian", "wenjiang"):
        points = (await wf.gql(POINTS, {"f": {"memberKey": wf.world.keys[0]}},
                               party=party))["data"]["points"]
        assert points["totalCount"] == 1 and points["totalPoints"] == 10
        award = points["nodes"][0]
        assert award["rule"] == "TASK_CONFIRMED" and "确认" in award["ruleText"]
        assert award["entryNumber"] == v["entry"]["number"] and award["party"] == "luxian"
    for party in ("deyang", "sichuan"):
        points = (await wf.gql(POINTS, {}, party=party))["data"]["points"]
        assert points == {"totalCount": 0, "totalPoints": 0, "nodes": []}

    # tasks are listed to the publisher and its partners with the claims they may see
    for party in ("luxian", "wenjiang"):
        listed = (await wf.gql(TASKS, {}, party=party))["data"]["tasks"]
        assert listed["totalCount"] == 1
        assert listed["nodes"][0]["claims"]["totalCount"] == 1
    deyang = (await wf.gql(TASKS, {}, party="deyang"))["data"]["tasks"]
    assert deyang["totalCount"] == 1  # a partner in the four-party contract
    assert deyang["nodes"][0]["claims"]["totalCount"] == 0  # neither publisher nor recorder
    # the observer may see what was published (nothing personal), never a claim
    observer = (await wf.gql(TASKS, {}, party="sichuan"))["data"]["tasks"]
    assert observer["totalCount"] == 1
    assert observer["nodes"][0]["claims"]["totalCount"] == 0


async def test_each_denial(wf: Trusted) -> None:
    number = (await publish(wf))["data"]["publishTask"]["task"]["number"]
    # no permission: 德阳's only contract has no task_publish
    assert codes(await publish(wf, "deyang", "LX-YS")) == {"CONTRACT_DENIED"}
    # wrong organisation: 温江 may not publish at 泸县's branch
    assert codes(await publish(wf, "wenjiang", "LX-YS")) == {"CONTRACT_DENIED"}
    # the observer sees no person, so it records nothing about one (no existence leak)
    assert codes(await claim(wf, number, 1, party="sichuan", org="WJ-YQ")) == {"NOT_FOUND"}
    # out of scope: the last member lives nowhere in 温江's contracts
    assert codes(await claim(wf, number, 60)) == {"NOT_FOUND"}
    claim_no = (await claim(wf, number, 0))["data"]["claimTask"]["claim"]["number"]
    # wrong party for a transition: only the claim's recorder reports, only the publisher
    # reviews (each at its own organisation, so the guard already refuses)
    wrong_report = await wf.gql(REPORT, {"c": claim_no, "e": "完成"}, party="luxian")
    assert codes(wrong_report) == {"CONTRACT_DENIED"}
    await wf.gql(REPORT, {"c": claim_no, "e": "完成"}, party="wenjiang")
    wrong_review = await wf.gql(REVIEW, {"c": claim_no, "d": "CONFIRMED"}, party="wenjiang")
    assert codes(wrong_review) == {"CONTRACT_DENIED"}
    # a final state takes no further step
    ok = await wf.gql(REVIEW, {"c": claim_no, "d": "REJECTED"}, party="luxian")
    assert ok["data"]["reviewTaskCompletion"]["claim"]["state"] == "REJECTED"
    again = await wf.gql(REVIEW, {"c": claim_no, "d": "CONFIRMED"}, party="luxian")
    assert codes(again) == {"TASK_STATE_CONFLICT"}
    assert "final" in again["errors"][0]["message"]
    late_report = await wf.gql(REPORT, {"c": claim_no, "e": "补充"}, party="wenjiang")
    assert codes(late_report) == {"TASK_STATE_CONFLICT"}
    # a rejected claim freed its place, gave no points, and the member cannot claim again
    assert await rows(wf, "SELECT * FROM exchange_points") == []
    assert codes(await claim(wf, number, 0)) == {"TASK_STATE_CONFLICT"}
    # an origin task is for its branch's members (member 5 belongs to another village now)
    async with wf.world.runtime.engine.begin() as conn:
        await conn.execute(text("UPDATE members SET origin_org_id = 'LX-OTHER' WHERE key = :k"),
                           {"k": wf.world.keys[5]})
    assert codes(await claim(wf, number, 5)) == {"TASK_NOT_ELIGIBLE"}
    # a community request (群众点单) is taken by members living there, claimed by either side
    request = await publish(wf, "wenjiang", "WJ-YQ", kind="COMMUNITY_REQUEST",
                            title="社区老人助餐", points=5)
    request_no = request["data"]["publishTask"]["task"]["number"]
    taken = await claim(wf, request_no, 5, party="luxian", org="LX-YS")
    assert taken["data"]["claimTask"]["claim"]["party"] == "luxian"
    # refusals are audited as denied and wrote no entry
    entries = await rows(wf, "SELECT action FROM exchange_entries ORDER BY id")
    assert [e.action for e in entries] == ["task_publish", "task_claim", "task_report",
                                           "task_review", "task_publish", "task_claim"]


async def test_idempotent_retries_and_conflicts(wf: Trusted) -> None:
    first = await wf.gql(PUBLISH, {"o": "LX-YS", "t": task_input(), "key": "p-1"},
                         party="luxian")
    again = await wf.gql(PUBLISH, {"o": "LX-YS", "t": task_input(), "key": "p-1"},
                         party="luxian")
    assert again["data"]["publishTask"]["replayed"] is True
    number = first["data"]["publishTask"]["task"]["number"]
    assert again["data"]["publishTask"]["task"]["number"] == number
    other = await wf.gql(PUBLISH, {"o": "LX-YS", "t": task_input(points=20), "key": "p-1"},
                         party="luxian")
    assert codes(other) == {"IDEMPOTENCY_CONFLICT"}
    one = await claim(wf, number, 3, key="c-3")
    two = await claim(wf, number, 3, key="c-3")
    assert (one["data"]["claimTask"]["replayed"], two["data"]["claimTask"]["replayed"]) == \
        (False, True)
    assert two["data"]["claimTask"]["claim"]["number"] == \
        one["data"]["claimTask"]["claim"]["number"]
    assert codes(await claim(wf, number, 4, key="c-3")) == {"IDEMPOTENCY_CONFLICT"}
    assert len(await rows(wf, "SELECT id FROM exchange_task_claims")) == 1
    assert len(await rows(wf, "SELECT id FROM exchange_entries")) == 2


async def test_concurrent_claims_never_exceed_the_places(wf: Trusted) -> None:
    number = (await publish(wf, capacity=3))["data"]["publishTask"]["task"]["number"]
    answers = await asyncio.gather(*(claim(wf, number, i) for i in range(10)))
    taken = [a for a in answers if "errors" not in a]
    assert len(taken) == 3
    assert all(codes(a) == {"TASK_FULL"} for a in answers if "errors" in a)
    slots = await rows(wf, "SELECT slot FROM exchange_task_claims ORDER BY slot")
    assert [s.slot for s in slots] == [1, 2, 3]
    # concurrent duplicates of one member (with one key, or none): one claim
    other = (await publish(wf, capacity=5))["data"]["publishTask"]["task"]["number"]
    same_key = await asyncio.gather(*(claim(wf, other, 7, key="dup") for _ in range(4)))
    assert sum(not a["data"]["claimTask"]["replayed"] for a in same_key) == 1
    no_key = await asyncio.gather(*(claim(wf, other, 8) for _ in range(4)))
    assert sum("errors" not in a for a in no_key) == 1
    assert all(codes(a) == {"TASK_STATE_CONFLICT"} for a in no_key if "errors" in a)
    claims = await rows(wf, f"SELECT member_key FROM exchange_task_claims "
                            f"WHERE task_entry_id = {other}")
    assert len(claims) == 2


async def test_bad_payloads_are_refused_and_write_nothing(wf: Trusted) -> None:
    bad = [task_input(title=""), task_input(capacity=0), task_input(points=101),
           task_input(deadline="2020-01-01T00:00:00+08:00"),
           task_input(deadline="2099-01-01T00:00:00"), task_input(description="x" * 2001)]
    for task in bad:
        body = await wf.gql(PUBLISH, {"o": "LX-YS", "t": task}, party="luxian")
        assert codes(body) == {"BAD_USER_INPUT"}, (task, body)
        assert body["errors"][0]["message"].split(":")[0] in (
            "title", "capacity", "points", "deadline", "description")
    unknown = await wf.gql(PUBLISH, {"o": "LX-YS", "t": {**task_input(), "kind": "PARTY"}},
                           party="luxian")
    assert codes(unknown) == {"BAD_USER_INPUT"}
    number = (await publish(wf))["data"]["publishTask"]["task"]["number"]
    empty = await wf.gql(REPORT, {"c": 999, "e": "x"}, party="wenjiang")
    assert codes(empty) == {"BAD_USER_INPUT"}
    claim_no = (await claim(wf, number, 0))["data"]["claimTask"]["claim"]["number"]
    blank = await wf.gql(REPORT, {"c": claim_no, "e": "  "}, party="wenjiang")
    assert codes(blank) == {"BAD_USER_INPUT"}
    assert codes(await claim(wf, 424242, 1)) == {"NOT_FOUND"}
    entries = await rows(wf, "SELECT action FROM exchange_entries ORDER BY id")
    assert [e.action for e in entries] == ["task_publish", "task_claim"]
    assert len(await rows(wf, "SELECT entry_id FROM exchange_tasks")) == 1


async def test_tasks_page_both_ways(wf: Trusted) -> None:
    for i in range(5):
        await publish(wf, title=f"任务{i}")
    forward = (await wf.gql(TASKS, {"first": 2}, party="wenjiang"))["data"]["tasks"]
    assert [n["title"] for n in forward["nodes"]] == ["任务4", "任务3"]
    assert forward["pageInfo"]["hasNextPage"] is True and forward["totalCount"] == 5
    back = (await wf.gql(TASKS, {"last": 2}, party="wenjiang"))["data"]["tasks"]
    assert [n["title"] for n in back["nodes"]] == ["任务1", "任务0"]
    assert back["pageInfo"]["hasPreviousPage"] is True
    before = (await wf.gql(TASKS, {"last": 2, "before": back["pageInfo"]["startCursor"]},
                           party="wenjiang"))["data"]["tasks"]
    assert [n["title"] for n in before["nodes"]] == ["任务3", "任务2"]
    both = await wf.gql(TASKS, {"first": 1, "last": 1}, party="wenjiang")
    assert codes(both) == {"BAD_REQUEST"}
    too_many = await wf.gql(TASKS, {"last": 1000}, party="wenjiang")
    assert codes(too_many) == {"LIMIT_EXCEEDED"}
