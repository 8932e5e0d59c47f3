"""The breaker guards every path to a source (issue 12 §3): live reads (tests/api/
test_breaker_fault.py), the health pings of /readyz and `sources(ping: true)`, and the sync's
page reads. (Its state as a gauge in /metrics: tests/api/test_overload.py.)"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base import ReadRequest, ReadResult
from connectors.errors import SourceTimeout, SourceUnavailable
from connectors.mock import MockConnector
from hub.federation.breaker import BreakerState, CircuitBreaker, RetryBudget
from hub.federation.sources import HealthStatus, SourceEntry, SourceRegistry
from hub.federation.sync import SyncTarget, sync_all
from hub.model import Side

ROWS = {"member": [{"local_id": "m1", "name": "张三", "id_number": "51052119900101001X"}]}


class Flaky(MockConnector):
    """A mock source failing with `error` while `failing` is set; counts reads."""

    def __init__(self, error: Exception) -> None:
        super().__init__("flaky", ROWS)
        self.error = error
        self.failing = True
        self.reads = 0

    async def read(self, request: ReadRequest) -> ReadResult:
        self.reads += 1
        if self.failing:
            raise self.error
        return await super().read(request)


class FailsOnce(Flaky):
    async def read(self, request: ReadRequest) -> ReadResult:
        self.failing = self.reads == 0
        return await super().read(request)


async def test_pings_trip_the_breaker_skip_an_open_source_and_probe_it_later() -> None:
    now = [0.0]
    source = Flaky(SourceUnavailable("flaky", "connection refused"))
    breaker = CircuitBreaker(failures=2, reset_seconds=10.0, clock=lambda: now[0])
    registry = SourceRegistry([SourceEntry("flaky", Side.ORIGIN, source, breaker=breaker)])
    for _ in range(2):
        assert (await registry.ping("flaky")).status is HealthStatus.DOWN
    assert breaker.state is BreakerState.OPEN and source.reads == 2
    health = await registry.ping("flaky")  # open: the source is not called
    assert source.reads == 2
    assert health.status is HealthStatus.DOWN and health.code == "SOURCE_UNAVAILABLE"
    assert "is failing" in (health.message or "")
    now[0] = 10.0
    source.failing = False
    assert (await registry.ping("flaky")).status is HealthStatus.OK  # the half-open probe
    assert breaker.state.value == "closed" and source.reads == 3


async def test_sync_reads_pages_through_the_breaker(
        session_factory: async_sessionmaker[AsyncSession], secret: bytes) -> None:
    source = Flaky(SourceTimeout("flaky", "no answer within 5 s"))
    breaker = CircuitBreaker(failures=1, reset_seconds=600.0)
    target = SyncTarget(source, Side.ORIGIN, breaker, RetryBudget(0.0))
    [first] = await sync_all(session_factory, [target], secret=secret)
    assert first.status == "failed" and first.error_code == "SOURCE_TIMEOUT"
    assert breaker.state is BreakerState.OPEN and source.reads == 1
    [second] = await sync_all(session_factory, [target], secret=secret)
    assert second.status == "failed" and second.error_code == "SOURCE_UNAVAILABLE"
    assert source.reads == 1  # the open breaker answered; the source was left alone


async def test_sync_retries_a_transient_page_failure_within_the_budget(
        session_factory: async_sessionmaker[AsyncSession], secret: bytes) -> None:
    source = FailsOnce(SourceUnavailable("flaky", "connection reset"))
    breaker = CircuitBreaker(failures=5, reset_seconds=600.0)
    budget = RetryBudget(1.0)  # every read earns a retry
    [summary] = await sync_all(session_factory, [SyncTarget(source, Side.ORIGIN, breaker,
                                                            budget)], secret=secret)
    assert summary.status == "ok", summary.error
    assert summary.entities.get("member") == 1
    assert breaker.state is BreakerState.CLOSED and breaker.consecutive_failures == 0
