"""hub.exchange.ledger below the API: two hub processes (two audit writers) racing on one
idempotency key make one entry; payloads are validated on the way in and out; the entry and
its audit entry commit together or not at all."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.audit.log import AuditEvent, AuditLog, Decision
from hub.clock import utcnow
from hub.exchange import (
    CheckIn,
    Draft,
    Entry,
    IdempotencyConflict,
    PayloadInvalid,
    append,
    current,
    entries_of_member,
    payload_from_json,
)
from hub.exchange.payloads import Payload, action

KEY = "a" * 64


def draft(note: str | None = "到", key: str | None = "k1", **kw: object) -> Draft:
    return Draft(payload=CheckIn(note=note), organizations=("WJ-YQ",), party="wenjiang",
                 member_key=KEY, contracts=("d" * 64,), idempotency_key=key, **kw)  # type: ignore[arg-type]


def event(entry: Entry) -> AuditEvent:
    return AuditEvent(at=utcnow(), party=entry.party, user=None, purpose=None,
                      decision=Decision.ALLOWED, operation_hash="0" * 64,
                      member_keys=[KEY], entry=entry.id, action=entry.action)


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        entries = (await conn.execute(text("SELECT count(*) FROM exchange_entries"))).scalar()
        audits = (await conn.execute(text("SELECT count(*) FROM audit_entries"))).scalar()
    return int(entries or 0), int(audits or 0)


async def test_two_writers_racing_on_one_key_make_one_entry(
        engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Two AuditLogs are two hub processes: neither's lock serialises the other, so the
    unique constraint decides and the loser answers the winner's entry."""
    logs = [AuditLog(session_factory, engine=engine) for _ in range(2)]
    try:
        results = await asyncio.gather(*(append(logs[i % 2], draft(), event)
                                         for i in range(6)))
    finally:
        for log in logs:
            await log.close()
    assert len({r.entry.id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * 5
    assert await counts(engine) == (1, 1)


async def test_conflict_and_replay(session_factory: async_sessionmaker[AsyncSession],
                                   engine: AsyncEngine) -> None:
    log = AuditLog(session_factory, engine=engine)
    try:
        first = await append(log, draft(), event)
        again = await append(log, draft(), event)
        assert again.replayed and again.entry == first.entry
        with pytest.raises(IdempotencyConflict):
            await append(log, draft(note="另"), event)
        no_key = [await append(log, draft(key=None), event) for _ in range(2)]
        assert len({a.entry.id for a in no_key}) == 2  # without a key, each call records
    finally:
        await log.close()
    assert await counts(engine) == (3, 3)
    stored = await entries_of_member(session_factory, KEY)
    assert stored[0] == first.entry and isinstance(stored[0].payload, CheckIn)


async def test_a_failing_effect_or_audit_writes_nothing(
        session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine) -> None:
    async def refuse(conn: object, entry: Entry) -> None:
        raise PayloadInvalid("capacity", "the task is full")

    def bad_event(entry: Entry) -> AuditEvent:  # an ID number where a member key belongs
        return AuditEvent(at=utcnow(), party="wenjiang", user=None, purpose=None,
                          decision=Decision.ALLOWED, operation_hash="0" * 64,
                          member_keys=["510521199001011234"])

    log = AuditLog(session_factory, engine=engine)
    try:
        with pytest.raises(PayloadInvalid, match="capacity"):
            await append(log, draft(effects=(refuse,)), event)
        with pytest.raises(Exception, match="member keys"):
            await append(log, draft(key="k2"), bad_event)
        assert await counts(engine) == (0, 0)
        ok = await append(log, draft(), event)  # the chain goes on where it was
        assert ok.entry.id >= 1
    finally:
        await log.close()
    assert await counts(engine) == (1, 1)


async def test_corrections_and_current(session_factory: async_sessionmaker[AsyncSession],
                                       engine: AsyncEngine) -> None:
    log = AuditLog(session_factory, engine=engine)
    try:
        first = (await append(log, draft(key=None), event)).entry
        fixed = (await append(log, draft(note="改", key=None, supersedes=first.id),
                              event)).entry
        other = Draft(payload=CheckIn(), organizations=("WJ-YQ",), party="luxian",
                      member_key=KEY, supersedes=fixed.id)
        with pytest.raises(Exception, match="another party"):
            await append(log, other, event)
    finally:
        await log.close()
    assert current(await entries_of_member(session_factory, KEY)) == [fixed]


@dataclass(frozen=True, slots=True)
class _Sample(Payload):
    text: str
    count: int | None = None
    tags: tuple[str, ...] = ()


def test_payloads_from_json_are_typed_and_checked() -> None:
    action("sample_test_action", permission="reconciliation")(_Sample)
    sample = payload_from_json("sample_test_action", {"text": "x", "tags": ["a"], "count": 2})
    assert sample == _Sample("x", 2, ("a",))
    assert json.dumps(sample.to_json()) == '{"text": "x", "count": 2, "tags": ["a"]}'
    cases: list[tuple[dict[str, Any], str]] = [
        ({"text": 1}, "text"), ({"text": "x", "count": True}, "count"),
        ({"text": "x", "tags": "a"}, "tags"), ({"text": "x", "zz": 1}, "zz")]
    for bad, field in cases:
        with pytest.raises(PayloadInvalid, match=field):
            payload_from_json("sample_test_action", bad)
    with pytest.raises(PayloadInvalid, match="required"):
        payload_from_json("sample_test_action", {})
    with pytest.raises(ValueError, match="unknown record permission"):
        action("x", permission="nosuch")
    with pytest.raises(PayloadInvalid, match="note"):
        payload_from_json("checkin", {"note": "长" * 501})
