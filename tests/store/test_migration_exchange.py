"""Revision 0003_exchange moves the check-ins of `exchange_checkins` into the exchange ledger
(same ids, the note as the payload, a digest a retry can be compared with) and the new
entries number on after them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, inspect, text

from hub.audit.log import AuditEvent, AuditLog, Decision
from hub.clock import utcnow
from hub.exchange import CheckIn, Draft, Entry, append, entries_of_member
from hub.exchange.ledger import request_digest
from hub.store.migrate import upgrade
from hub.store.session import create_engine, create_session_factory
from tests.store.legacy import REMOVED, create_0_1_0_tables

pytestmark = pytest.mark.store

KEY = "b" * 64
AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


async def test_check_ins_move_into_the_ledger(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(create_0_1_0_tables)
            old = REMOVED.tables["exchange_checkins"]
            await conn.execute(insert(old), [
                {"id": 7, "member_key": KEY, "organization": "WJ-YQ", "note": "扫码报到",
                 "party": "wenjiang", "user": "u1", "contracts": "d1 d2", "recorded_at": AT},
                {"id": 9, "member_key": KEY, "organization": "WJ-YQ", "note": None,
                 "party": "wenjiang", "user": None, "contracts": "d1", "recorded_at": AT},
            ])
        await upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert "exchange_checkins" not in tables and "exchange_entries" in tables
        sessions = create_session_factory(engine)
        moved = await entries_of_member(sessions, KEY)
        assert [(e.id, e.action, e.payload, e.official, e.contracts) for e in moved] == [
            (7, "checkin", CheckIn(note="扫码报到"), "u1", ("d1", "d2")),
            (9, "checkin", CheckIn(), None, ("d1",))]
        assert moved[0].recorded_at == AT and moved[0].organizations == ("WJ-YQ",)
        assert moved[0].request_digest == request_digest(
            "checkin", KEY, ["WJ-YQ"], CheckIn(note="扫码报到"), None, None)

        def event(entry: Entry) -> AuditEvent:
            return AuditEvent(at=utcnow(), party="wenjiang", user=None, purpose=None,
                              decision=Decision.ALLOWED, operation_hash="0" * 64)

        log = AuditLog(sessions, engine=engine)
        try:
            new = await append(log, Draft(payload=CheckIn(), organizations=("WJ-YQ",),
                                          party="wenjiang", member_key=KEY), event)
        finally:
            await log.close()
        assert new.entry.id > 9  # the id sequence moved on past the migrated rows
        async with engine.connect() as conn:
            payloads = (await conn.execute(text(
                "SELECT payload FROM exchange_entries ORDER BY id"))).scalars().all()
        assert [json.loads(p) for p in payloads] == [{"note": "扫码报到"}, {}, {}]
    finally:
        await engine.dispose()
