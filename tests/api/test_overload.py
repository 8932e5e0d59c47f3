"""Overload protection over real HTTP (issue 12 §3): token buckets per client address and per
party (429 RATE_LIMITED with Retry-After, audited, counted in /metrics), the same buckets
shared through Redis, and load shedding past the concurrency limit (503 OVERLOADED at once).

Shedding is proved without timing: the source blocks on an event the test holds, so exactly
`max_concurrent_requests` requests are inside, the queue fills, and the next one must be shed.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.api.ratelimit import MemoryBuckets, RateLimiter, RedisBuckets, client_key
from hub.app import create_app
from hub.audit.log import AuditEntry, AuditEntryRow
from hub.settings import Limits, Mode, PartyRate, RateLimits
from tests.api.conftest import World
from tests.api.served import serve
from tests.api.trusted import Trusted, make_trusted

LIVE = "{ members(first: 3) { nodes { destination { employer } } } }"
INDEX = "{ members(first: 1) { totalCount } }"


def _code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def _metric(client: httpx.AsyncClient, line_start: str) -> float:
    text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _audit(t: Trusted) -> list[AuditEntry]:
    await t.trust.audit_log.drain()
    async with t.world.runtime.session_factory() as s:
        rows = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
    return [AuditEntry.from_row(r) for r in rows]


async def test_client_address_over_its_bucket_gets_429_with_retry_after(
        make_world: Callable[..., Any]) -> None:
    world: World = await make_world(limits=Limits(rate=RateLimits(
        address_per_second=0.01, address_burst=3)))
    async with serve(create_app(world.runtime, mode=Mode.development())) as url, \
            httpx.AsyncClient(base_url=url) as client:
        answers = [await client.post("/graphql", json={"query": INDEX}) for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        refused = answers[3]
        assert _code(refused) == "RATE_LIMITED"
        assert refused.json().get("data") is None
        assert 1 <= int(refused.headers["retry-after"]) <= 101  # one token at 0.01/s
        assert refused.headers["x-request-id"]
        # not a bad request: a GraphQL error body that says what to do
        assert "Retry-After" in refused.json()["errors"][0]["message"]
        assert await _metric(client, 'yanxing_rate_limited_requests_total{scope="address"}') == 2
        assert await _metric(
            client, 'yanxing_rejected_requests_total{code="RATE_LIMITED"}') == 2


async def test_party_bucket_after_authentication_with_a_per_party_override(
        make_world: Callable[..., Any], tmp_path: Path) -> None:
    """wenjiang has its own small bucket; luxian the default: one party's flood leaves the
    other unaffected, and each refusal is one `rejected` audit entry."""
    t = await make_trusted(make_world, tmp_path, limits=Limits(rate=RateLimits(
        parties=(("wenjiang", PartyRate(0.01, 2)),))))
    try:
        async with serve(create_app(t.world.runtime, mode=Mode.development())) as url, \
                httpx.AsyncClient(base_url=url) as client:
            async def ask(party: str) -> httpx.Response:
                return await client.post("/graphql", json={"query": INDEX}, headers={
                    "Authorization": f"Bearer {t.demo.token_for(party)}"})

            before = len(await _audit(t))
            wenjiang = [await ask("wenjiang") for _ in range(4)]
            assert [r.status_code for r in wenjiang] == [200, 200, 429, 429]
            assert _code(wenjiang[2]) == "RATE_LIMITED"
            assert "your party" in wenjiang[2].json()["errors"][0]["message"]
            assert int(wenjiang[2].headers["retry-after"]) >= 1
            assert [(await ask("luxian")).status_code for _ in range(4)] == [200] * 4
            new = (await _audit(t))[before:]
            limited = [e for e in new if e.reason == "rate_limited:party"]
            assert len(limited) == 2
            assert await _metric(
                client, 'yanxing_rate_limited_requests_total{scope="party"}') == 2
            # a token without a valid signature never reaches the party bucket: 401
            bad = await client.post("/graphql", json={"query": INDEX},
                                    headers={"Authorization": "Bearer x.y.z"})
            assert bad.status_code == 401
    finally:
        await t.trust.close()


async def test_memory_buckets_refill_and_keep_addresses_apart() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimits(address_per_second=1.0, address_burst=2),
                          MemoryBuckets(clock=lambda: now[0]))
    assert [(await limiter.check_address("10.0.0.1")).allowed for _ in range(3)] == \
        [True, True, False]
    refused = await limiter.check_address("10.0.0.1")
    assert refused.retry_after == pytest.approx(1.0)
    assert (await limiter.check_address("10.0.0.2")).allowed  # another address, its own bucket
    now[0] = 1.0
    assert (await limiter.check_address("10.0.0.1")).allowed  # one token back after 1 s
    # IPv6 clients share their /64 (one host holds all of it); IPv4-mapped is the IPv4 address
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff") == "2001:db8::/64"
    assert client_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert client_key(None) == client_key("not an address") == "unknown"
    # per_second 0: that bucket is off
    off = RateLimiter(RateLimits(party_per_second=0), MemoryBuckets())
    assert [(await off.check_party("p")).allowed for _ in range(1000)] == [True] * 1000


@pytest.fixture
async def redis_url() -> AsyncIterator[tuple[str, str]]:
    import redis.asyncio as redis

    url = os.environ.get("YANXING_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
    client = redis.Redis.from_url(url, socket_connect_timeout=2.0)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:
        await client.aclose()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {url} is unreachable: {exc}")
        pytest.skip(f"Redis at {url} is unreachable")
    prefix = f"yanxing-test:{uuid.uuid4().hex[:12]}:"
    try:
        yield url, prefix
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_redis_buckets_are_shared_by_every_process(redis_url: tuple[str, str]) -> None:
    """Two limiters on one Redis (two hub processes) grant the burst once between them; the
    bucket expires from Redis by itself."""
    import redis.asyncio as redis

    url, prefix = redis_url
    rates = RateLimits(party_per_second=0.01, party_burst=3)
    one, two = (RateLimiter(rates, RedisBuckets.from_url(url, prefix)) for _ in range(2))
    try:
        got = [await (one if i % 2 else two).check_party("wenjiang") for i in range(6)]
        assert [d.allowed for d in got] == [True, True, True, False, False, False]
        assert 1 <= got[-1].retry_after <= 100
        client = redis.Redis.from_url(url)
        ttl = await client.pttl(f"{prefix}party:wenjiang")
        await client.aclose()
        assert 0 < ttl <= 301_000
    finally:
        await one.aclose()
        await two.aclose()


async def test_redis_down_falls_back_to_the_process_buckets() -> None:
    limiter = RateLimiter(RateLimits(address_per_second=0.01, address_burst=2),
                          RedisBuckets.from_url("redis://127.0.0.1:1/0", "x:"))
    try:
        assert [(await limiter.check_address("10.1.1.1")).allowed for _ in range(3)] == \
            [True, True, False]
    finally:
        await limiter.aclose()


class Gate:
    """Holds every live read of a source until the test opens it."""

    def __init__(self, connector: Any) -> None:
        self.opened = asyncio.Event()
        self.inside = 0
        self._read = connector.read
        connector.read = self.read

    async def read(self, request: Any) -> Any:
        self.inside += 1
        await self.opened.wait()
        return await self._read(request)


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def test_past_the_concurrency_limit_and_queue_requests_are_shed_at_once(
        make_world: Callable[..., Any]) -> None:
    world: World = await make_world(limits=Limits(
        max_concurrent_requests=2, max_queued_requests=1, queue_timeout_seconds=60.0),
        timeout=60.0)
    gate = Gate(world.city)
    app = create_app(world.runtime, mode=Mode.development())
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        running = [asyncio.create_task(client.post("/graphql", json={"query": LIVE}))
                   for _ in range(2)]
        await asyncio.wait_for(_until(lambda: gate.inside == 2), 30)
        queued = asyncio.create_task(client.post("/graphql", json={"query": INDEX}))
        while "yanxing_requests_queued 1.0" not in (await client.get("/metrics")).text:
            await asyncio.sleep(0.01)
        shed = await client.post("/graphql", json={"query": INDEX})
        assert shed.status_code == 503, shed.text
        assert _code(shed) == "OVERLOADED" and shed.headers["retry-after"] == "1"
        assert shed.json().get("data") is None
        assert not queued.done()  # still waiting for a slot, not refused
        metrics = (await client.get("/metrics")).text
        assert "yanxing_requests_in_flight 2.0" in metrics
        assert "yanxing_requests_queued 1.0" in metrics
        assert 'yanxing_shed_requests_total{reason="queue_full"} 1.0' in metrics
        gate.opened.set()
        answers = [*(await asyncio.gather(*running)), await queued]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert all("errors" not in a.json() for a in answers)
        after = await client.post("/graphql", json={"query": INDEX})
        assert after.status_code == 200


async def test_a_queued_request_gives_up_after_the_queue_timeout(
        make_world: Callable[..., Any]) -> None:
    world: World = await make_world(limits=Limits(
        max_concurrent_requests=1, max_queued_requests=5, queue_timeout_seconds=0.05),
        timeout=60.0)
    gate = Gate(world.city)
    async with serve(create_app(world.runtime, mode=Mode.development())) as url, \
            httpx.AsyncClient(base_url=url, timeout=60) as client:
        running = asyncio.create_task(client.post("/graphql", json={"query": LIVE}))
        await asyncio.wait_for(_until(lambda: gate.inside == 1), 30)
        waited = await client.post("/graphql", json={"query": INDEX})
        assert waited.status_code == 503 and _code(waited) == "OVERLOADED"
        assert 'reason="queue_timeout"' in (await client.get("/metrics")).text
        gate.opened.set()
        assert (await running).status_code == 200


async def test_breaker_state_gauge_in_metrics(make_world: Callable[..., Any]) -> None:
    world: World = await make_world()
    breaker = world.runtime.registry.get("city").breaker  # type: ignore[union-attr]
    for _ in range(breaker.failures):
        breaker.failure()
    metrics = (await world.client.get("/metrics")).text
    assert 'yanxing_source_breaker_state{source="city"} 2.0' in metrics
    assert 'yanxing_source_breaker_state{source="county"} 0.0' in metrics
