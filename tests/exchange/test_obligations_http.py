"""Workflow 7, obligations, over real HTTP: the contracts' obligations as scheduled instances
(due, fulfilled by an entry, overdue after the grace), each party seeing its own, the observer
all of the contracts it observes; and `yanxing obligations` printing them as a table.

The test world's two-party contract also obliges 泸县 to publish a task every month, so this
branch's own `task_publish` entries fulfil instances (letters and reconciliations fulfil theirs
the same way, by action: tests/exchange/test_schedule.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from hub.cli import main
from hub.clock import utcnow
from hub.exchange.schedule import CST
from hub.exchange.tasks import TaskPublication
from tests.api.trusted import Trusted
from tests.exchange.workflows_world import (
    PUBLISH,
    append_at,
    codes,
    task_input,
    wf,  # noqa: F401  (fixture)
)

OBLIGATIONS = """query($f: ObligationFilter, $first: Int, $last: Int) {
  obligations(filter: $f, first: $first, last: $last) { totalCount
    nodes { key contractId action description schedule party to periodStart dueAt graceUntil
            state fulfilledBy fulfilledAt } } }"""


async def _digests(t: Trusted) -> dict[str, str]:
    body = await t.gql("{ contracts { id digest } }", party="luxian")
    return {c["id"]: c["digest"] for c in body["data"]["contracts"]}


def _monthly(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in nodes if n["action"] == "task_publish"]


async def _all(t: Trusted, party: str, **filter: Any) -> dict[str, Any]:
    body = await t.gql(OBLIGATIONS, {"f": filter or None, "first": 100}, party=party)
    assert "errors" not in body, body
    return dict(body["data"]["obligations"])


async def test_instances_are_due_fulfilled_or_overdue(wf: Trusted) -> None:
    digests = await _digests(wf)
    two_party = next(d for i, d in digests.items() if not i.endswith("--regional"))
    now = utcnow()
    history = TaskPublication(kind="origin_task", title="冬季脐橙销售",
                              description="帮村里销售脐橙", deadline="2099-01-01T00:00:00Z",
                              points=5, capacity=5)
    # mid-month three months ago and last month (then one now, over HTTP)
    for days in (92, 31):
        at = (now - timedelta(days=days)).astimezone(CST).replace(day=15, hour=12)
        await append_at(wf, history, party="luxian", organization="LX-YS",
                        contracts=(two_party,), at=at)
    published = await wf.gql(PUBLISH, {"o": "LX-YS", "t": task_input()}, party="luxian")
    entry_now = published["data"]["publishTask"]["entry"]["number"]

    mine = await _all(wf, "luxian")
    monthly = _monthly(mine["nodes"])
    assert monthly[0]["state"] == "FULFILLED" and monthly[0]["fulfilledBy"] == entry_now
    assert monthly[0]["party"] == "luxian" and monthly[0]["to"] == ["wenjiang"]
    assert monthly[0]["description"] == "每月发布一领任务"
    assert monthly[1]["state"] == "FULFILLED" and monthly[2]["state"] == "OVERDUE"
    fulfilled = [n for n in monthly if n["state"] == "FULFILLED"]
    assert len(fulfilled) == 3
    # every month without a task, its grace over, is overdue; 13-14 months of history
    assert 12 <= len(monthly) <= 15
    assert {n["state"] for n in monthly[3:]} <= {"OVERDUE", "FULFILLED"}
    assert sum(n["state"] == "OVERDUE" for n in monthly) == len(monthly) - 3
    # the quarterly reconciliation (每季度通联流动党员台账) and the year-end letter
    # (年终发函) are scheduled too: nothing has fulfilled them here
    quarterly = [n for n in mine["nodes"] if n["action"] == "reconciliation"]
    assert {n["description"] for n in quarterly} == {"每季度通联流动党员台账"}
    assert {n["state"] for n in quarterly} <= {"DUE", "OVERDUE"}
    assert any(n["state"] == "OVERDUE" for n in quarterly)
    letters = [n for n in mine["nodes"] if n["action"] == "evaluation_letter"]
    assert letters and all(n["party"] == "wenjiang" and n["to"] == ["luxian"]
                           for n in letters)

    # filters, and paging from the end
    only_done = await _all(wf, "luxian", state="FULFILLED")
    assert only_done["totalCount"] == 3
    oldest = await wf.gql(OBLIGATIONS, {"last": 1}, party="luxian")
    assert oldest["data"]["obligations"]["totalCount"] == mine["totalCount"]


async def test_each_party_sees_its_own_and_the_observer_all(wf: Trusted) -> None:
    luxian = await _all(wf, "luxian")
    wenjiang = await _all(wf, "wenjiang")
    deyang = await _all(wf, "deyang")
    sichuan = await _all(wf, "sichuan")
    assert all("luxian" in (n["party"], *n["to"]) for n in luxian["nodes"])
    assert all("wenjiang" in (n["party"], *n["to"]) for n in wenjiang["nodes"])
    # 德阳 is party to the four-party contract only, and owes its own reconciliation there
    assert deyang["totalCount"] > 0
    assert {n["party"] for n in deyang["nodes"]} == {"deyang"}
    assert {n["contractId"].endswith("--regional") for n in deyang["nodes"]} == {True}
    # the observer sees every instance of both contracts: more than any one party
    keys = {n["key"] for n in sichuan["nodes"]}
    assert {n["key"] for n in luxian["nodes"]} <= keys
    assert {n["key"] for n in deyang["nodes"]} <= keys
    assert sichuan["totalCount"] == len(keys)
    bad = await wf.gql(OBLIGATIONS, {"f": {"state": "LATE"}}, party="luxian")
    assert codes(bad) == {"BAD_USER_INPUT"}


async def test_the_cli_prints_the_table(wf: Trusted, capsys: pytest.CaptureFixture[str]) -> None:
    await wf.gql(PUBLISH, {"o": "LX-YS", "t": task_input()}, party="luxian")
    url = wf.world.runtime.engine.url.render_as_string(hide_password=False)
    # the command runs its own event loop: in a thread, beside the served hub's
    assert await asyncio.to_thread(main, ["obligations", "--db", url, "--party", "luxian"]) == 0
    out = capsys.readouterr().out
    assert "每月发布一领任务" in out and "每季度通联流动党员台账" in out
    assert "fulfilled" in out and "overdue" in out
    assert await asyncio.to_thread(main, ["obligations", "--db", url, "--state",
                                          "fulfilled"]) == 0
    only = capsys.readouterr().out
    assert "overdue" not in only.split("\n")[-2] or "0 overdue" in only
    assert await asyncio.to_thread(main, ["obligations", "--db", "notaurl"]) == 2
    assert "--db" in capsys.readouterr().err
