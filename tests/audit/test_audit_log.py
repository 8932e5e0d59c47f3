"""Audit log: appends, access_log for owners only, and tamper detection on a real database."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit import AuditEvent, AuditLog, Decision, operation_hash, verify_log
from hub.audit.log import AuditCheckpointRow, AuditEntryRow, AuditMemberRow, entry_hash
from hub.errors import AccessDenied, ContractError
from hub.store.session import create_engine, create_session_factory, init_db

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
HUB = Ed25519PrivateKey.generate()


def mkey(n: int) -> str:
    return hashlib.sha256(f"member-{n}".encode()).hexdigest()


def event(n: int, party: str = "xuzhou", members: tuple[int, ...] = (1,)) -> AuditEvent:
    return AuditEvent(
        at=T0 + timedelta(seconds=n), party=party, user=f"u{n}", purpose="co-management",
        decision=Decision.PARTIAL, operation_hash=operation_hash("{ members { name } }"),
        contract_digests=["sha256:" + "a" * 64], member_keys=[mkey(m) for m in members],
        fields_allowed=["Member.name"], fields_denied=["Member.phone"],
    )


@dataclass
class Env:
    log: AuditLog
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def env(db_url: str) -> AsyncIterator[Env]:
    engine = create_engine(db_url)
    await init_db(engine)
    sessions = create_session_factory(engine)
    log = AuditLog(sessions, signing_key=HUB, kid="hub-1", checkpoint_every=3)
    for n in range(1, 6):
        await log.append(event(n, members=(n % 2, 7)))
    yield Env(log, sessions)
    await engine.dispose()


async def problems(env: Env) -> tuple[str, ...]:
    return (await verify_log(env.sessions, HUB.public_key())).problems


async def test_intact_log_verifies(env: Env) -> None:
    await env.log.checkpoint(T0)
    report = await verify_log(env.sessions, HUB.public_key())
    assert report.ok and report.entries == 5 and report.checkpoints == 2  # sizes 3 and 5


async def test_wrong_hub_key_fails(env: Env) -> None:
    report = await verify_log(env.sessions, Ed25519PrivateKey.generate().public_key())
    assert any("not validly signed" in p for p in report.problems)


async def test_edited_entry_detected(env: Env) -> None:
    async with env.sessions.begin() as s:
        row = await s.get(AuditEntryRow, 2)
        assert row is not None
        row.body = row.body.replace('"partial"', '"allowed"')
    assert any("entry 2: content does not match its hash (edited)" == p
               for p in await problems(env))


async def test_deleted_entry_detected(env: Env) -> None:
    async with env.sessions.begin() as s:
        await s.execute(delete(AuditMemberRow).where(AuditMemberRow.seq == 2))
        await s.execute(delete(AuditEntryRow).where(AuditEntryRow.seq == 2))
    found = await problems(env)
    assert "entry 3: expected sequence number 2 (an entry was deleted or inserted)" in found


async def test_truncated_tail_detected_by_checkpoint(env: Env) -> None:
    await env.log.checkpoint(T0)  # covers 5
    async with env.sessions.begin() as s:
        await s.execute(delete(AuditMemberRow).where(AuditMemberRow.seq == 5))
        await s.execute(delete(AuditEntryRow).where(AuditEntryRow.seq == 5))
    assert any("entries removed from the end" in p for p in await problems(env))


async def test_reordered_entries_detected(env: Env) -> None:
    async with env.sessions.begin() as s:
        a, b = await s.get(AuditEntryRow, 2), await s.get(AuditEntryRow, 3)
        assert a is not None and b is not None
        fields = ("body", "prev_hash", "entry_hash", "party")
        va, vb = [getattr(a, f) for f in fields], [getattr(b, f) for f in fields]
        for f, x, y in zip(fields, vb, va, strict=True):
            setattr(a, f, x)
            setattr(b, f, y)
    found = await problems(env)
    assert any("does not follow the previous entry" in p for p in found)


async def test_inserted_entry_with_rewritten_chain_caught_by_checkpoint(env: Env) -> None:
    """The attacker inserts an entry after 1 and recomputes every later hash: the chain is
    self-consistent again, but checkpoint 3 no longer matches."""
    async with env.sessions.begin() as s:
        rows = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
        bodies = [r.body for r in rows]
        await s.execute(delete(AuditMemberRow))
        await s.execute(delete(AuditEntryRow))
        await s.flush()
        forged = [*bodies[:1], bodies[0].replace('"u1"', '"intruder"'), *bodies[1:]]
        prev = "0" * 64
        for seq, body in enumerate(forged, start=1):
            h = entry_hash(prev, seq, body)
            # the indexes too, consistent with the forged bodies: only the checkpoint is left
            parsed = json.loads(body)
            s.add(AuditEntryRow(seq=seq, body=body, prev_hash=prev, entry_hash=h,
                                party=parsed["party"]))
            await s.flush()
            s.add_all(AuditMemberRow(seq=seq, member_key=k) for k in parsed["members"])
            prev = h
    found = await problems(env)
    assert found == ("checkpoint 3: the log up to entry 3 differs from what the hub signed "
                     "(entries rewritten)",)


async def test_forged_checkpoint_detected(env: Env) -> None:
    async with env.sessions.begin() as s:
        await s.execute(update(AuditCheckpointRow).where(AuditCheckpointRow.size == 3)
                        .values(head_hash="f" * 64))
    assert "checkpoint 3: not validly signed by the hub key" in await problems(env)


async def test_access_log_only_for_the_owner(env: Env) -> None:
    owners = {mkey(1): {"xuzhou"}, mkey(7): {"xuzhou", "wenjiang"}, mkey(0): {"wenjiang"}}
    entries = await env.log.access_log("xuzhou", [mkey(1)], owners=owners)
    assert [e.seq for e in entries] == [1, 3, 5]
    assert entries[0].user == "u1" and entries[0].fields_denied == ("Member.phone",)
    assert len(await env.log.access_log("wenjiang", [mkey(7)], owners=owners)) == 5
    with pytest.raises(AccessDenied) as info:
        await env.log.access_log("wenjiang", [mkey(1), mkey(7)], owners=owners)
    assert info.value.code == "CONTRACT_DENIED"


async def test_raw_identifiers_refused(env: Env) -> None:
    bad = AuditEvent(at=T0, party="x", user="u", purpose="p", decision=Decision.DENIED,
                     operation_hash="0" * 64, member_keys=["510521199003071234"])
    with pytest.raises(ContractError, match="never raw identifiers"):
        await env.log.append(bad)
    assert await env.log.count() == 5


def test_operation_hash_ignores_whitespace_not_text() -> None:
    assert operation_hash("{ a }") == operation_hash("{\n  a\n}")
    assert operation_hash("{ a }") != operation_hash("{ b }")
    assert operation_hash("{ a }", "Q") != operation_hash("{ a }")


def test_operation_hash_leaves_out_literals_and_comments() -> None:
    """A hash of the literal text would let anyone confirm a guessed phone or name."""
    q = '{ members(filter: {name: "%s"}, first: %s) { nodes { name } } } # %s'
    assert operation_hash(q % ("张三", 5, "13812345678")) == operation_hash(
        q % ("李四", 99, "asked by phone"))
    assert operation_hash('{ m(x: """block 张三""", y: 1.5) }') == operation_hash(
        '{ m(x: "other", y: 7) }')
    assert operation_hash("{ members { ") != operation_hash("{ members }")  # unlexable: kept


async def test_group_commit_keeps_one_chain_and_its_checkpoints(db_url: str) -> None:
    """Concurrent appends share transactions; each returns its own committed seq; a checkpoint
    falling inside a batch is signed over exactly that entry's head."""
    engine = create_engine(db_url)
    try:
        await init_db(engine)
        sessions = create_session_factory(engine)
        log = AuditLog(sessions, signing_key=HUB, kid="hub-1", checkpoint_every=4,
                       engine=engine)
        seqs = await asyncio.gather(*(log.append(event(n, members=(n,))) for n in range(10)))
        assert sorted(seqs) == list(range(1, 11))
        async with sessions() as s:
            stored = {r.seq: r for r in await s.scalars(select(AuditEntryRow))}
            sizes = list(await s.scalars(select(AuditCheckpointRow.size)
                                         .order_by(AuditCheckpointRow.size)))
            indexed = {(m.seq, m.member_key) for m in await s.scalars(select(AuditMemberRow))}
        assert set(stored) == set(range(1, 11)) and sizes == [4, 8]
        users = {seq: int(json.loads(stored[seq].body)["user"][1:]) for seq in seqs}
        assert indexed == {(seq, mkey(n)) for seq, n in users.items()}
        await log.close()
        report = await verify_log(sessions, HUB.public_key())
        assert report.ok and report.entries == 10 and report.checkpoints == 2, report.problems
    finally:
        await engine.dispose()


async def test_a_conflicting_writer_is_followed_not_forked(db_url: str) -> None:
    """Two logs on one database (a second process): the stale one fails on the seq key,
    reloads the head and re-chains, so the chain stays one and verifies."""
    engine = create_engine(db_url)
    try:
        await init_db(engine)
        sessions = create_session_factory(engine)
        a = AuditLog(sessions, signing_key=HUB, kid="hub-1", checkpoint_every=3, engine=engine)
        b = AuditLog(sessions, signing_key=HUB, kid="hub-1", checkpoint_every=3)
        assert await a.append(event(1)) == 1           # a now keeps head 1 in memory
        assert await b.append(event(2)) == 2           # b reads head 1 from the database
        assert await b.append(event(3)) == 3
        assert await a.append(event(4)) == 4           # a's seq 2 collides: reload, retry
        assert await b.append(event(5)) == 5
        assert await a.append(event(6)) == 6
        await a.close()
        report = await verify_log(sessions, HUB.public_key())
        assert report.ok and report.entries == 6 and report.checkpoints == 2, report.problems
    finally:
        await engine.dispose()


async def test_a_user_or_purpose_that_is_not_an_id_is_stored_hashed(env: Env) -> None:
    """The API refuses such tokens (401 personal_data); should one reach the log anyway, the
    log keeps a hash, never the text."""
    seq = await env.log.append(AuditEvent(
        at=T0, party="xuzhou", user="张三 13812345678", purpose="Co Management",
        decision=Decision.ALLOWED, operation_hash="0" * 64))
    async with env.sessions() as s:
        row = await s.get(AuditEntryRow, seq)
    assert row is not None and "张三" not in row.body and "13812345678" not in row.body
    body = json.loads(row.body)
    assert body["user"].startswith("sha256:") and body["purpose"].startswith("sha256:")
