"""The trusted API world (tests/api/trusted.py) for workflows 3, 4, 7 and 8, served by a real
uvicorn on 127.0.0.1: the same parties (温江 destination, 泸县 origin, 德阳 origin without
sources) plus an observer, 四川省委组织部 (`sichuan`), that signs both contracts; the contracts
are in force from 400 days ago (obligations have a history), and the two-party contract also
obliges 泸县 to publish a task every month (每月发布一领任务), an obligation a test can fulfil
with this branch's own `task_publish` entries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text

import hub.contracts.demo as demo_contracts
from hub.app import create_app
from hub.audit.log import AuditEvent, Decision
from hub.contracts.demo import build_demo_trust
from hub.contracts.trust import Trust
from hub.exchange.ledger import Draft, Entry, append
from hub.exchange.payloads import Payload
from hub.settings import Mode
from tests.api.trusted import PARTIES, Trusted

OBSERVER = ("sichuan", "四川省委组织部", ["510000"])
MONTHLY_TASK = {"who": "origin", "to": "destination", "what": "task_publish",
                "schedule": "monthly", "grace_days": 10, "description": "每月发布一领任务"}

PUBLISH = """mutation($o: ID!, $t: TaskInput!, $key: String) {
  publishTask(organization: $o, task: $t, idempotencyKey: $key) {
    replayed entry { number action party organizations }
    task { number kind title points capacity claimed open publisher } } }"""
CLAIM = """mutation($task: Int!, $k: ID!, $o: ID!, $key: String) {
  claimTask(task: $task, memberKey: $k, organization: $o, idempotencyKey: $key) {
    replayed entry { number action answers memberKey }
    claim { number state party } task { claimed } member { key } } }"""
REPORT = """mutation($c: Int!, $e: String!) {
  reportTaskCompletion(claim: $c, evidence: $e) {
    entry { number action answers } claim { state evidence } } }"""
REVIEW = """mutation($c: Int!, $d: TaskDecision!) {
  reviewTaskCompletion(claim: $c, decision: $d) {
    entry { number action answers } claim { state } task { claimed } } }"""
RECORD_LIFE = """mutation($o: ID!, $a: ActivityInput!, $att: [AttendanceInput!]!, $g: Int!,
                          $key: String) {
  recordOrganizationLife(organization: $o, activity: $a, attendance: $att, guests: $g,
                         idempotencyKey: $key) {
    replayed entry { number action memberKey organizations }
    activity { kind title online
      attendance { expected present online excused byReport guests participationRate } } } }"""


def codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors", [])}


def task_input(**overrides: Any) -> dict[str, Any]:
    task = {"kind": "ORIGIN_TASK", "title": "帮村里销售脐橙", "description": "在流入地朋友圈"
            "和单位帮涌水村销售脐橙，每人至少10箱", "deadline": "2099-12-31T23:59:00+08:00",
            "points": 10, "capacity": 3}
    return {**task, **overrides}


async def rows(t: Trusted, sql: str) -> list[Any]:
    async with t.world.runtime.engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


async def append_at(t: Trusted, payload: Payload, *, party: str, organization: str,
                    contracts: tuple[str, ...], at: datetime) -> Entry:
    """A ledger entry recorded in the past (history a test needs), with its audit decision,
    as the guard would append it."""
    draft = Draft(payload=payload, organizations=(organization,), party=party,
                  contracts=contracts)

    def event(entry: Entry) -> AuditEvent:
        return AuditEvent(at=entry.recorded_at, party=party, user="test", purpose=None,
                          decision=Decision.ALLOWED, operation_hash="0" * 64,
                          contract_digests=contracts, member_keys=[], fields_allowed=[],
                          entry=entry.id, action=payload.action)

    return (await append(t.trust.audit_log, draft, event, now=at)).entry


async def make_served(make_world: Callable[..., Any], tmp_path: Any,
                      monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Trusted]:
    original = demo_contracts._obligations
    monkeypatch.setattr(demo_contracts, "_obligations",
                        lambda: [*original(), MONTHLY_TASK])
    world = await make_world()
    demo = build_demo_trust(tmp_path / "trust", PARTIES, observers=[OBSERVER],
                            history_days=400)
    runtime = world.runtime
    trust = await Trust.open(demo.trust_config(checkpoint_every=5), runtime.engine,
                             runtime.session_factory, runtime.registry)
    runtime.enforcement = trust
    t = Trusted(world, demo, trust)
    config = uvicorn.Config(create_app(runtime, mode=Mode.development()), host="127.0.0.1",
                            port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    await world.client.aclose()
    world.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        yield t
    finally:
        await world.client.aclose()
        server.should_exit = True
        await task
        await trust.close()


@pytest.fixture
async def wf(make_world: Callable[..., Any], tmp_path: Any,
             monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Trusted]:
    async for t in make_served(make_world, tmp_path, monkeypatch):
        yield t
