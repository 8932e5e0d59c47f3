"""A circuit breaker and a retry budget per source.

Without them a source that has gone slow costs every request its full timeout, because nothing
remembers that it is failing. The breaker counts consecutive failures (timeouts and connection
errors, the ones that say the *source* is unwell, not that one answer was bad); after
`failures` of them it opens and calls fail at once with SOURCE_UNAVAILABLE. After
`reset_seconds` one call is let through (half-open): success closes the breaker, failure opens
it again for another `reset_seconds`.

The retry budget bounds retries to a fraction of reads, so retries cannot double the load on a
source that is already struggling: each read earns `ratio` of a retry, each retry spends one.
Only idempotent reads are retried, once at most (`may_retry`); a write is never retried unless it
carries an idempotency key.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from connectors.errors import SourceError, SourceUnavailable

__all__ = ["BreakerState", "CircuitBreaker", "RetryBudget", "may_retry", "guarded_read"]

T = TypeVar("T")

#: most retries a budget saves up, so a long quiet spell does not become a retry storm later
_MAX_SAVED_RETRIES = 10.0


class BreakerState(enum.Enum):
    CLOSED = "closed"        # calls go through
    OPEN = "open"            # calls fail at once
    HALF_OPEN = "half_open"  # one probe call is in flight


@dataclass(slots=True)
class CircuitBreaker:
    """The breaker of one source. Not thread-safe: one event loop owns it."""

    failures: int = 5
    reset_seconds: float = 10.0
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.CLOSED
    #: consecutive failures since the last success
    consecutive_failures: int = 0
    #: when it last opened (wall clock, for `sources`); None while it never opened
    opened_at: datetime | None = None
    _opened_mono: float = 0.0

    def allow(self) -> bool:
        """May a call go to the source now? Moves an open breaker past its reset time to
        half-open and lets exactly that one call through."""
        if self.state is BreakerState.CLOSED:
            return True
        waited = self.clock() - self._opened_mono
        if self.state is BreakerState.OPEN and waited >= self.reset_seconds:
            self.state = BreakerState.HALF_OPEN
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it would now)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.reset_seconds - (self.clock() - self._opened_mono))

    def success(self) -> None:
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0

    def failure(self) -> None:
        self.consecutive_failures += 1
        if (self.state is BreakerState.HALF_OPEN
                or self.consecutive_failures >= self.failures):
            self._open()

    def abandoned(self) -> None:
        """The call was cancelled (its request ended): no verdict on the source. A half-open
        breaker goes back to open with its old time, so the next call probes again."""
        if self.state is BreakerState.HALF_OPEN:
            self.state = BreakerState.OPEN

    def _open(self) -> None:
        self.state = BreakerState.OPEN
        self._opened_mono = self.clock()
        self.opened_at = datetime.now(UTC)


@dataclass(slots=True)
class RetryBudget:
    """Retries as a share of reads: `ratio` 0.1 lets one read in ten be retried."""

    ratio: float = 0.1
    _saved: float = field(default=0.0)

    def record_read(self) -> None:
        self._saved = min(_MAX_SAVED_RETRIES, self._saved + self.ratio)

    def try_spend(self) -> bool:
        if self._saved >= 1.0:
            self._saved -= 1.0
            return True
        return False


def may_retry(*, idempotent: bool, idempotency_key: str | None = None) -> bool:
    """Only a call that cannot do harm twice may be retried: a read, or a write the source
    de-duplicates by its idempotency key."""
    return idempotent or idempotency_key is not None


async def guarded_read(source: str, read: Callable[[], Awaitable[T]], breaker: CircuitBreaker,
                       budget: RetryBudget | None = None) -> T:
    """Run one idempotent read of `source` through its breaker: SOURCE_UNAVAILABLE at once
    while it is open; timeouts and connection errors (SourceUnavailable, SourceTimeout) count
    against it, any answer (even a bad one: unwell data, not an unwell source) for it; one
    retry of a transient failure when `budget` has one to spend. The live fetch, the sync and
    the health pings all read through here."""
    if not breaker.allow():
        raise SourceUnavailable(
            source, f"is failing; the hub retries it in {breaker.retry_after():.0f} s")
    if budget is not None:
        budget.record_read()
    retried = False
    while True:
        try:
            result = await read()
        except asyncio.CancelledError:
            breaker.abandoned()  # a cancelled probe must not leave it half-open for good
            raise
        except SourceError as exc:
            transient = isinstance(exc, SourceUnavailable)  # timeouts included
            if transient:
                breaker.failure()
            else:
                breaker.success()
            if (transient and not retried and budget is not None
                    and may_retry(idempotent=True) and breaker.allow() and budget.try_spend()):
                retried = True
                continue
            raise
        breaker.success()
        return result
