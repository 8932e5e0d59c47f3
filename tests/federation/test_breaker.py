"""The circuit breaker and retry budget on the live read path (issue 12 §3)."""

from __future__ import annotations

from connectors.errors import SourceInvalid, SourceUnavailable
from connectors.mock import MockConnector
from hub.federation.breaker import BreakerState, CircuitBreaker, RetryBudget, may_retry
from hub.federation.fetch import Link, LiveFetcher
from hub.federation.sources import SourceEntry, SourceRegistry
from hub.model import Side


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _world(breaker: CircuitBreaker, budget: RetryBudget | None = None
           ) -> tuple[MockConnector, SourceRegistry]:
    county = MockConnector("county", {"member": [{"local_id": "c1", "name": "x"}]})
    entry = SourceEntry("county", Side.ORIGIN, county, timeout=0.5, breaker=breaker,
                        retry_budget=budget or RetryBudget(0.0))
    return county, SourceRegistry([entry])


def _state(breaker: CircuitBreaker) -> BreakerState:
    """Read afresh (mypy would narrow `breaker.state` across the awaits that change it)."""
    return breaker.state


async def _read(registry: SourceRegistry) -> str | None:
    result = await LiveFetcher(registry).fetch_members({"k": [Link("county", "c1")]})
    error = result.errors.get("county")
    return None if error is None else error.code


async def test_opens_after_consecutive_failures_probes_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 10.0, clock)
    county, registry = _world(breaker)
    county.fail = lambda request: SourceUnavailable("county", "down")
    for _ in range(3):
        assert await _read(registry) == "SOURCE_UNAVAILABLE"
    assert _state(breaker) is BreakerState.OPEN and breaker.opened_at is not None
    calls = len(county.calls)
    assert await _read(registry) == "SOURCE_UNAVAILABLE"
    assert len(county.calls) == calls  # open: the source is not asked at all
    clock.now = 10.0
    assert await _read(registry) == "SOURCE_UNAVAILABLE"  # the half-open probe fails
    assert _state(breaker) is BreakerState.OPEN and len(county.calls) == calls + 1
    clock.now = 20.0
    county.fail = None
    assert await _read(registry) is None
    assert _state(breaker) is BreakerState.CLOSED and breaker.consecutive_failures == 0


async def test_a_bad_answer_is_not_a_failing_source() -> None:
    breaker = CircuitBreaker(1, 10.0, Clock())
    county, registry = _world(breaker)
    county.fail = lambda request: SourceInvalid("county", "bad shape")
    assert await _read(registry) == "SOURCE_INVALID"
    assert _state(breaker) is BreakerState.CLOSED


async def test_reads_are_retried_once_within_the_budget() -> None:
    breaker = CircuitBreaker(100, 10.0, Clock())
    budget = RetryBudget(0.5)
    county, registry = _world(breaker, budget)
    county.fail = lambda request: SourceUnavailable("county", "down")
    assert await _read(registry) == "SOURCE_UNAVAILABLE"
    assert len(county.calls) == 1  # half a retry earned: not enough
    assert await _read(registry) == "SOURCE_UNAVAILABLE"
    assert len(county.calls) == 3  # one retry, never two
    assert await _read(registry) == "SOURCE_UNAVAILABLE"
    assert len(county.calls) == 4  # the budget is spent again


def test_only_idempotent_calls_may_be_retried() -> None:
    assert may_retry(idempotent=True)
    assert not may_retry(idempotent=False)
    assert may_retry(idempotent=False, idempotency_key="k-1")
