"""The write-back outbox on a real database (SQLite, and PostgreSQL when
YANXING_TEST_DATABASE_URL is set) delivering to the simulated Chengdu platform over HTTP:
queued in the entry's transaction, delivered once, retried with backoff while the platform is
down, failed with the platform's error when it refuses, claimed by one worker only, and
delivered by a new app after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.factory import open_connector
from connectors.mapping import load_mapping
from connectors.mock import MockConnector
from hub.api.runtime import Runtime
from hub.app import create_app
from hub.clock import as_utc
from hub.demo.generator import generate_world
from hub.demo.systems.chengdu import ChengduPlatform
from hub.demo.world import MAPPINGS_DIR
from hub.exchange.outbox import (
    DeliveryRow,
    DeliveryState,
    DeliveryWorker,
    OutboxConfig,
    deliveries_of,
    delivery_effect,
    depth,
    list_deliveries,
    retry_delivery,
    writers_of,
)
from hub.federation.sources import SourceEntry, SourceRegistry
from hub.model import Side
from hub.store.models import MemberRow, OrganizationRow, SourceLinkRow

TOKEN = "outbox-test-token"
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
MEMBER = "k" * 64
ORG = "510115-YQ-01"
FAST = OutboxConfig(base_delay_seconds=0.05, max_delay_seconds=0.2, max_attempts=4,
                    poll_seconds=0.05, lease_seconds=30)


@dataclass(frozen=True)
class Note:
    note: str | None = "到涌泉街道报到"

    def to_json(self) -> dict[str, Any]:
        return {"note": self.note} if self.note is not None else {}


@dataclass(frozen=True)
class Entry:
    """A ledger entry as the outbox reads it (hub.exchange.ledger.Entry has these fields)."""

    id: int
    action: str = "checkin"
    member_key: str | None = MEMBER
    organizations: tuple[str, ...] = (ORG,)
    party: str = "chengdu-rcxf-operator"
    official: str | None = "王书记"
    recorded_at: datetime = NOW
    answers: int | None = None
    payload: Note = field(default_factory=Note)


@pytest.fixture
async def chengdu() -> AsyncIterator[ChengduPlatform]:
    async with ChengduPlatform(generate_world(20, 3), token=TOKEN) as platform:
        yield platform


def registry_for(platform: ChengduPlatform, *, timeout: float = 5.0) -> SourceRegistry:
    mapping = load_mapping(MAPPINGS_DIR / "chengdu.toml", overrides={"timeout_seconds": timeout},
                           env={"CHENGDU_URL": platform.url, "CHENGDU_TOKEN": TOKEN})
    return SourceRegistry([
        SourceEntry("chengdu", Side.DESTINATION, open_connector(mapping),
                    owner="chengdu-rcxf-operator"),
        SourceEntry("zhejiang", Side.DESTINATION, MockConnector("zhejiang", {"member": []}),
                    owner="zhejiang-platform-operator"),
        SourceEntry("county", Side.ORIGIN, MockConnector("county", {"member": []}),
                    owner="xuzhou-county-org"),
    ])


async def index_member(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The member is held by chengdu (CD000001) and zhejiang; the organisation by chengdu."""
    async with sessions.begin() as session:
        session.add(MemberRow(key=MEMBER, name="张三", indexed_at=NOW))
        await session.flush()
        for source, local_id in (("chengdu", "CD000001"), ("zhejiang", "ZJ-9")):
            session.add(SourceLinkRow(source=source, entity="member", local_id=local_id,
                                      member_key=MEMBER, fields=[], routing={},
                                      content_hash="h", fetched_at=NOW))
        session.add(OrganizationRow(org_id=ORG, name="涌泉街道流动党员党支部",
                                    sources=[{"system": "chengdu"}]))


async def append(sessions: async_sessionmaker[AsyncSession], registry: SourceRegistry,
                 entry: Entry, *, fail_after: bool = False) -> None:
    """Run the outbox's ledger effect in a transaction, as the ledger's append does."""
    effect = delivery_effect(writers_of(registry))
    async with sessions.begin() as session:
        conn = await session.connection()
        await effect(conn, entry)
        if fail_after:
            raise RuntimeError("the entry's transaction fails after the effect")


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[DeliveryRow]:
    async with sessions() as session:
        return list(await session.scalars(select(DeliveryRow).order_by(DeliveryRow.source)))


async def test_an_entry_queues_one_delivery_per_system_of_record(session_factory) -> None:
    async with ChengduPlatform(generate_world(5, 1), token=TOKEN) as platform:
        registry = registry_for(platform)
        await index_member(session_factory)
        await append(session_factory, registry, Entry(1))
        with pytest.raises(RuntimeError):
            await append(session_factory, registry, Entry(2), fail_after=True)
        await append(session_factory, registry, Entry(3, member_key=None,
                                                      organizations=("no-such-org",)))
        await registry.aclose()
    found = await rows(session_factory)
    assert [(r.entry_id, r.source, r.state) for r in found] == [
        (1, "chengdu", "pending"), (1, "zhejiang", "not_applicable")]
    chengdu_row, zhejiang_row = found
    assert zhejiang_row.reason == ("this system cannot take writes: the entry stays in the "
                                   "hub's ledger only")
    assert zhejiang_row.next_attempt_at is None
    assert chengdu_row.idempotency_key == zhejiang_row.idempotency_key
    assert chengdu_row.idempotency_key.startswith("yanxing-")
    assert chengdu_row.values["member_local_id"] == "CD000001"
    assert chengdu_row.values["payload.note"] == "到涌泉街道报到"
    assert "id_number" not in str(chengdu_row.values)
    # the county holds neither the member nor the organisation: no row for it at all
    assert await depth(session_factory) == {("chengdu", "pending"): 1}


async def test_delivered_once_into_the_platform_with_its_key(
        session_factory, chengdu: ChengduPlatform) -> None:
    registry = registry_for(chengdu)
    await index_member(session_factory)
    await append(session_factory, registry, Entry(1))
    worker = DeliveryWorker(session_factory, registry, FAST, seed=1)
    assert await worker.deliver_due() == 1
    assert await worker.deliver_due() == 0  # delivered rows are never sent again
    await registry.aclose()
    (delivery,) = (await deliveries_of(session_factory, [1]))[1][:1]
    assert (delivery.state, delivery.attempts, delivery.remote_id) == ("delivered", 1, "CK000001")
    assert delivery.delivered_at is not None and delivery.last_error is None
    key = (await rows(session_factory))[0].idempotency_key
    assert chengdu.write_keys == [key]
    (arrived,) = chengdu.checkins
    assert arrived.body == {"memberId": "CD000001", "hubMemberKey": MEMBER, "orgCode": ORG,
                            "checkinTime": "2026-12-06T08:00:00+0000",
                            "remark": "到涌泉街道报到", "hubEntryId": "1"}


async def test_down_then_up_is_retried_with_backoff_and_delivered_once(
        session_factory, chengdu: ChengduPlatform) -> None:
    registry = registry_for(chengdu)
    await index_member(session_factory)
    await append(session_factory, registry, Entry(1))
    port = chengdu.port
    await chengdu.stop()
    slower = OutboxConfig(base_delay_seconds=0.5, max_delay_seconds=1.0, poll_seconds=0.05)
    worker = DeliveryWorker(session_factory, registry, slower, seed=1)
    before = datetime.now(UTC)
    assert await worker.deliver_due() == 1
    (row, _) = await rows(session_factory)
    assert (row.state, row.attempts, row.last_error_code) == ("pending", 1, "SOURCE_UNAVAILABLE")
    assert row.last_error and "POST /api/v1/checkins" in row.last_error
    due = as_utc(row.next_attempt_at)
    assert due is not None
    assert before + timedelta(seconds=0.24) < due < before + timedelta(seconds=2)
    assert await worker.deliver_due() == 0  # not due before its backoff ends
    await chengdu.start(port=port or 0)
    await asyncio.sleep(0.6)
    assert await worker.deliver_due() == 1
    await registry.aclose()
    (row, _) = await rows(session_factory)
    assert (row.state, row.attempts, row.last_error) == ("delivered", 2, None)
    assert len(chengdu.checkins) == 1 and chengdu.write_keys == [row.idempotency_key]


async def test_an_answer_lost_in_flight_is_retried_and_still_arrives_once(
        session_factory, chengdu: ChengduPlatform) -> None:
    """The platform takes the write but answers after the hub gave up waiting: the retry
    carries the same key, the platform recognises it, and it holds one check-in."""
    registry = registry_for(chengdu, timeout=0.3)
    await index_member(session_factory)
    await append(session_factory, registry, Entry(1))
    worker = DeliveryWorker(session_factory, registry, FAST, seed=1)
    chengdu.answer_delay = 0.6
    await worker.deliver_due()
    (row, _) = await rows(session_factory)
    assert (row.state, row.last_error_code, row.attempts) == ("pending", "SOURCE_TIMEOUT", 1)
    await asyncio.sleep(0.6)  # the platform finishes the first request meanwhile
    chengdu.answer_delay = 0.0
    assert len(chengdu.checkins) == 1
    await worker.deliver_due()
    await registry.aclose()
    (row, _) = await rows(session_factory)
    assert (row.state, row.attempts, row.remote_id) == ("delivered", 2, "CK000001")
    assert len(chengdu.checkins) == 1
    assert chengdu.write_keys == [row.idempotency_key] * 2


async def test_a_rejecting_platform_fails_with_its_error_and_can_be_retried(
        session_factory, chengdu: ChengduPlatform) -> None:
    registry = registry_for(chengdu)
    await index_member(session_factory)
    await append(session_factory, registry, Entry(1))
    chengdu.reject_writes = "该党员（身份证 51011519880307123X）未在本平台登记"
    worker = DeliveryWorker(session_factory, registry, FAST, seed=1)
    await worker.deliver_due()
    (row, _) = await rows(session_factory)
    assert (row.state, row.attempts, row.last_error_code) == ("failed", 1, "SOURCE_REJECTED")
    assert row.last_error is not None
    assert "未在本平台登记" in row.last_error and "HTTP 422" in row.last_error
    assert "51011519880307123X" not in row.last_error and "0307" not in row.last_error
    assert await worker.deliver_due() == 0  # final: not retried by itself
    assert [d.id for d in await list_deliveries(session_factory, states=["failed"])] == [row.id]
    chengdu.reject_writes = None
    retried, queued = await retry_delivery(session_factory, row.id)
    assert queued and retried is not None and retried.state == "pending"
    assert await worker.deliver_due() == 1
    await registry.aclose()
    (row, _) = await rows(session_factory)
    assert row.state == "delivered" and len(chengdu.checkins) == 1
    # a delivered row is never queued again
    again, queued = await retry_delivery(session_factory, row.id)
    assert not queued and again is not None and again.state == "delivered"
    assert await retry_delivery(session_factory, 99999) == (None, False)


async def test_a_platform_down_for_good_fails_after_the_last_attempt(
        session_factory, chengdu: ChengduPlatform) -> None:
    registry = registry_for(chengdu)
    await index_member(session_factory)
    await append(session_factory, registry, Entry(1))
    await chengdu.stop()
    worker = DeliveryWorker(session_factory, registry, FAST, seed=1)
    for _ in range(FAST.max_attempts):
        async with session_factory.begin() as session:  # skip the wait: due now
            await session.execute(update(DeliveryRow).values(next_attempt_at=NOW))
        await worker.deliver_due()
    await registry.aclose()
    (row, _) = await rows(session_factory)
    assert (row.state, row.attempts) == ("failed", FAST.max_attempts)
    assert row.last_error is not None and "gave up after 4 attempts" in row.last_error


async def test_two_workers_never_deliver_one_row_twice(
        session_factory, chengdu: ChengduPlatform) -> None:
    registry = registry_for(chengdu)
    await index_member(session_factory)
    for entry_id in range(1, 31):
        await append(session_factory, registry, Entry(entry_id))
    chengdu.latency = 0.01
    workers = [DeliveryWorker(session_factory, registry, OutboxConfig(batch=7), seed=i)
               for i in range(3)]
    tried = await asyncio.gather(*(w.deliver_due() for w in workers))
    await registry.aclose()
    assert sum(tried) == 30
    assert len(chengdu.write_keys) == 30 == len(set(chengdu.write_keys))
    assert len(chengdu.checkins) == 30
    states = {r.state for r in await rows(session_factory) if r.source == "chengdu"}
    assert states == {"delivered"}


async def test_pending_rows_are_delivered_by_a_new_app_after_a_restart(
        engine, session_factory, chengdu: ChengduPlatform) -> None:
    first = registry_for(chengdu)
    await index_member(session_factory)
    await append(session_factory, first, Entry(1))
    await append(session_factory, first, Entry(2))
    await first.aclose()  # the first hub stopped before delivering anything
    assert await depth(session_factory) == {("chengdu", "pending"): 2}

    runtime = Runtime(engine=engine, session_factory=session_factory,
                      registry=registry_for(chengdu))
    app = create_app(runtime, mode=None, outbox=FAST, authenticate=_anonymous)
    async with app.router.lifespan_context(app):
        assert _worker_of(runtime) is not None
        for _ in range(100):
            if len(chengdu.checkins) == 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
    assert _worker_of(runtime) is None
    assert sorted(w.body["hubEntryId"] for w in chengdu.checkins) == ["1", "2"]
    assert {r.state for r in await rows(session_factory) if r.source == "chengdu"} == \
        {DeliveryState.DELIVERED}


def _worker_of(runtime: Runtime) -> DeliveryWorker | None:
    return runtime.outbox


async def _anonymous(request: Any) -> Any:
    from hub.policy.base import ANONYMOUS

    return ANONYMOUS


async def test_metrics_show_the_outbox_depth(engine, session_factory,
                                             chengdu: ChengduPlatform) -> None:
    import httpx

    registry = registry_for(chengdu)
    await index_member(session_factory)
    for entry_id in (1, 2):
        await append(session_factory, registry, Entry(entry_id))
    chengdu.reject_writes = "拒绝"
    await DeliveryWorker(session_factory, registry, FAST).deliver_due()
    await append(session_factory, registry, Entry(3))
    runtime = Runtime(engine=engine, session_factory=session_factory, registry=registry)
    app = create_app(runtime, authenticate=_anonymous, mode=None)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        text = (await client.get("/metrics")).text
    await registry.aclose()
    assert 'yanxing_outbox_deliveries{source="chengdu",state="failed"} 2.0' in text
    assert 'yanxing_outbox_deliveries{source="chengdu",state="pending"} 1.0' in text


async def test_delivered_into_the_county_database_and_a_ledger_file_the_hub_owns(
        session_factory, tmp_path) -> None:
    """The demo's county database (an INSERT into dy_bdjl) and the village's check-in
    workbook (a row appended to a file the hub owns; the village's own ledger untouched)."""
    import openpyxl
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from hub.demo.systems.county import create_county_db
    from hub.demo.systems.ledger import write_ledger

    world = generate_world(5, 1)
    county_url = f"sqlite+aiosqlite:///{tmp_path / 'county.db'}"
    await create_county_db(county_url, world)
    ledger = write_ledger(world, tmp_path)
    before = ledger.xlsx.read_bytes()
    workbook = tmp_path / "hub_checkins.xlsx"
    county = load_mapping(MAPPINGS_DIR / "county.toml", env={"XUZHOU_COUNTY_DB_URL": county_url})
    village = load_mapping(MAPPINGS_DIR / "village_ledger.toml", env={
        "YONGSHUI_LEDGER": str(ledger.xlsx), "YONGSHUI_HUB_CHECKINS": str(workbook)})
    registry = SourceRegistry([
        SourceEntry("county", Side.ORIGIN, open_connector(county)),
        SourceEntry("village_ledger", Side.ORIGIN, open_connector(village)),
    ])
    async with session_factory.begin() as session:
        session.add(MemberRow(key=MEMBER, name="张三", indexed_at=NOW))
        await session.flush()
        for source, local_id in (("county", "XZ000001"), ("village_ledger", "YS-001")):
            session.add(SourceLinkRow(source=source, entity="member", local_id=local_id,
                                      member_key=MEMBER, fields=[], routing={},
                                      content_hash="h", fetched_at=NOW))
    await append(session_factory, registry, Entry(1))
    worker = DeliveryWorker(session_factory, registry, FAST)
    assert await worker.deliver_due() == 2
    assert await worker.deliver_due() == 0
    # delivered rows put back to pending (as after a lost answer) are recognised by the key
    async with session_factory.begin() as session:
        await session.execute(update(DeliveryRow).values(state="pending", next_attempt_at=NOW))
    assert await worker.deliver_due() == 2
    await registry.aclose()
    found = {r.source: r for r in await rows(session_factory)}
    assert {s: (r.state, r.remote_id) for s, r in found.items()} == {
        "county": ("delivered", "1"), "village_ledger": ("delivered", "2")}
    engine = create_async_engine(county_url)
    async with engine.connect() as conn:
        county_rows = (await conn.execute(sa.text(
            "SELECT mdj, dyid, hub_cyj, bd_zzdm, bdsj, bz, hub_tmid FROM dy_bdjl"))).all()
    await engine.dispose()
    key = found["county"].idempotency_key
    assert [tuple(r) for r in county_rows] == [
        (key, "XZ000001", MEMBER, ORG, "2026-12-06 08:00:00", "到涌泉街道报到", "1")]
    sheet = openpyxl.load_workbook(workbook)["报到登记"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["幂等键", "编号", "报到党组织编码", "报到时间", "备注", "枢纽条目号"],
        [key, "YS-001", ORG, "2026-12-06 16:00", "到涌泉街道报到", "1"],
    ]
    assert ledger.xlsx.read_bytes() == before


async def test_a_hub_whose_sources_take_no_writes_still_says_so(engine, session_factory) -> None:
    """No source takes writes: the worker does not run, yet an entry's holders are listed as
    not_applicable (the entry stays in the hub's ledger only, and says so)."""
    registry = SourceRegistry([
        SourceEntry("chengdu", Side.DESTINATION, MockConnector("chengdu", {"member": []})),
        SourceEntry("zhejiang", Side.DESTINATION, MockConnector("zhejiang", {"member": []})),
    ])
    await index_member(session_factory)
    runtime = Runtime(engine=engine, session_factory=session_factory, registry=registry)
    app = create_app(runtime, mode=None, outbox=FAST, authenticate=_anonymous)
    async with app.router.lifespan_context(app):
        worker = _worker_of(runtime)
        assert worker is not None and not worker.running
        async with session_factory.begin() as session:
            await worker.effect()(await session.connection(), Entry(1))
    assert {(r.source, r.state) for r in await rows(session_factory)} == {
        ("chengdu", "not_applicable"), ("zhejiang", "not_applicable")}
