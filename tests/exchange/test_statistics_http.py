"""Workflow 8, statistics for provincial departments, over real HTTP: the observer 四川省委
组织部 (`sichuan`) asks for aggregates over the members of the contracts it observes and sees
no person; cells of fewer than the minimum are suppressed, with complementary cells so no
total gives one back; the minimum can be raised per query, never lowered."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from hub.clock import utcnow
from hub.exchange.statistics import month_of
from tests.api.trusted import Trusted
from tests.exchange.workflows_world import (
    CLAIM,
    PUBLISH,
    RECORD_LIFE,
    REPORT,
    REVIEW,
    codes,
    task_input,
    wf,  # noqa: F401  (fixture)
)

STATS = """query($m: StatisticMeasure!, $y: Int, $g: StatisticDimension, $k: Int) {
  statistics(measure: $m, year: $y, groupBy: $g, minCount: $k, first: 100) {
    minCount totalCount nodes { row rowName column count value suppressed total } } }"""


async def stats(t: Trusted, measure: str, party: str = "sichuan", **args: Any) -> Any:
    body = await t.gql(STATS, {"m": measure, **args}, party=party)
    assert "errors" not in body, body
    data = body["data"]["statistics"]
    return {(n["row"], n["column"]): n for n in data["nodes"]}, data


async def _statuses(t: Trusted) -> None:
    """Two members lost contact and one transferred out: two small cells."""
    async with t.world.runtime.engine.begin() as conn:
        for i, status in ((1, "lost_contact"), (2, "lost_contact"), (3, "transferred_out")):
            await conn.execute(text("UPDATE members SET status = :s WHERE key = :k"),
                               {"s": status, "k": t.world.keys[i]})


async def test_members_by_status_suppresses_small_cells_and_their_complements(
        wf: Trusted) -> None:
    await _statuses(wf)
    cells, data = await stats(wf, "MEMBERS_BY_STATUS", g="ORIGIN_REGION")
    assert data["minCount"] == 5
    row = {c: cells[("510521", c)] for c in ("in_contact", "returned", "lost_contact",
                                             "transferred_out", "*")}
    assert row["in_contact"]["count"] == 45 and row["in_contact"]["rowName"] == "泸县"
    assert row["lost_contact"] == {**row["lost_contact"], "count": None, "suppressed": True}
    assert row["transferred_out"]["suppressed"]
    # 60 - 45 would give 2 + 1 back: the returned cell (12) is hidden with them
    assert row["returned"]["suppressed"] and row["*"]["count"] == 60
    hidden = [c for c, n in row.items() if n["suppressed"]]
    assert len(hidden) >= 2
    # and the column total of `returned` cannot give it back either
    assert cells[("*", "returned")]["suppressed"] or row["returned"]["count"] is None
    for n in data["nodes"]:
        if n["count"] is not None and not n["total"]:
            assert n["count"] == 0 or n["count"] >= 5

    # the minimum can be raised per query, never lowered below the configured 5
    higher, data = await stats(wf, "MEMBERS_BY_STATUS", k=20)
    assert data["minCount"] == 20 and higher[("510521", "returned")]["suppressed"]
    lower = await wf.gql(STATS, {"m": "MEMBERS_BY_STATUS", "k": 3}, party="sichuan")
    assert codes(lower) == {"BAD_USER_INPUT"}


async def test_the_observer_sees_aggregates_never_persons(wf: Trusted) -> None:
    members = await wf.gql("{ members { totalCount } }", party="sichuan")
    assert members["data"]["members"]["totalCount"] == 0
    one = await wf.gql("query($k: ID!) { member(key: $k) { key } }",
                       {"k": wf.world.keys[0]}, party="sichuan")
    assert one["data"]["member"] is None
    cells, _ = await stats(wf, "MEMBERS_BY_STATUS", g="DESTINATION_ORGANIZATION")
    assert cells[("WJ-YQ", "*")]["count"] == 60
    assert cells[("WJ-YQ", "*")]["rowName"] == "涌泉街道流入党员党支部"
    # a party counts its own scope; 德阳 has nobody in it
    own, _ = await stats(wf, "MEMBERS_BY_STATUS", party="wenjiang")
    assert own[("*", "*")]["count"] == 60
    _, data = await stats(wf, "MEMBERS_BY_STATUS", party="deyang")
    assert data["totalCount"] == 0


async def test_rates_and_points_per_organisation_and_month(wf: Trusted) -> None:
    modes = ["PRESENT"] * 3 + ["ONLINE", "BY_REPORT"] + ["EXCUSED"] * 3 + ["ABSENT"] * 2
    for start, att, kind, hours in (
            ("2026-03-05T19:00:00+08:00", modes, "THEMED_PARTY_DAY", None),
            ("2026-04-05T19:00:00+08:00", ["PRESENT"] * 4, "THEMED_PARTY_DAY", None),
            ("2026-05-18T09:00:00+08:00", ["PRESENT"] * 6, "VOLUNTEER_SERVICE", 2.0)):
        body = await wf.gql(RECORD_LIFE, {
            "o": "WJ-YQ", "g": 0, "a": {"kind": kind, "title": "活动", "startTime": start,
                                        "hours": hours},
            "att": [{"memberKey": wf.world.keys[i], "mode": m} for i, m in enumerate(att)]},
            party="wenjiang")
        assert "errors" not in body, body
    cells, _ = await stats(wf, "PARTICIPATION_RATE", y=2026)
    assert cells[("WJ-YQ", "2026-03")] == {**cells[("WJ-YQ", "2026-03")], "count": 10,
                                            "value": 0.5, "suppressed": False}
    assert cells[("WJ-YQ", "2026-04")]["suppressed"]  # four people
    assert cells[("WJ-YQ", "*")]["count"] == 20

    # points: six volunteers in May; five confirmed completions of a 泸县 task this month
    task = (await wf.gql(PUBLISH, {"o": "LX-YS", "t": task_input(capacity=10)},
                         party="luxian"))
    number = task["data"]["publishTask"]["task"]["number"]
    for i in range(5):
        claim = await wf.gql(CLAIM, {"task": number, "k": wf.world.keys[i], "o": "WJ-YQ"},
                             party="wenjiang")
        claim_no = claim["data"]["claimTask"]["claim"]["number"]
        await wf.gql(REPORT, {"c": claim_no, "e": "已完成"}, party="wenjiang")
        await wf.gql(REVIEW, {"c": claim_no, "d": "CONFIRMED"}, party="luxian")
    this_month = month_of(utcnow())
    year = int(this_month[:4])
    points, _ = await stats(wf, "POINTS", y=year)
    assert points[("LX-YS", this_month)]["count"] == 5
    assert points[("LX-YS", this_month)]["value"] == 50
    if year == 2026:
        assert points[("WJ-YQ", "2026-05")]["count"] == 6
        assert points[("WJ-YQ", "2026-05")]["value"] == 24
        assert points[("*", "*")] == {**points[("*", "*")], "count": 11, "value": 74}

    # check-in rates: five of the sixty attached to 涌泉 checked in this month
    check_in = """mutation($k: ID!) { recordCheckIn(memberKey: $k, organization: "WJ-YQ") {
      entry { number } } }"""
    for i in range(5):
        await wf.gql(check_in, {"k": wf.world.keys[i]}, party="wenjiang")
    rates, _ = await stats(wf, "CHECKIN_RATE", y=year)
    assert rates[("WJ-YQ", this_month)]["value"] == 5 / 60
    await wf.gql(check_in, {"k": wf.world.keys[5]}, party="wenjiang")
    rates, _ = await stats(wf, "CHECKIN_RATE", y=year)
    assert rates[("WJ-YQ", this_month)]["value"] == 6 / 60


async def test_obligations_met_or_overdue_per_contract(wf: Trusted) -> None:
    year = int(month_of(utcnow())[:4])
    cells, _ = await stats(wf, "OBLIGATIONS", y=year)
    states = {c for (r, c) in cells if r == "*"}
    assert "overdue" in states and "*" in states
    assert all(not n["suppressed"] for n in cells.values())
    assert sum(n["count"] for (r, c), n in cells.items() if r != "*" and c == "*") == \
        cells[("*", "*")]["count"]
