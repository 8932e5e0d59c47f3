"""Load shedding: at most `max_concurrent_requests` /graphql requests run at once.

Without a bound, every request that arrives is started, and under overload they all share the
CPU: each one gets slower, none gets finished sooner, and latency grows with the queue (64
concurrent clients once gave a p50 of 816 ms). With it, a request past the bound waits in a
short queue (`max_queued_requests`, each for at most `queue_timeout_seconds`), and one past
the queue is answered at once with HTTP 503, `extensions.code = OVERLOADED` and `Retry-After`:
a fast "no" the client (or its load balancer) can act on, while admitted requests keep their
latency. Counted in /metrics (hub.api.observe: in flight, queued, shed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["ConcurrencyLimit", "Shed", "OVERLOADED"]

OVERLOADED = "OVERLOADED"


class Shed(Exception):
    """The request was not admitted: `reason` is "queue_full" or "queue_timeout"."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ConcurrencyLimit:
    """Admission for one app's requests (one event loop owns it)."""

    def __init__(self, max_concurrent: int, max_queued: int, queue_timeout: float) -> None:
        self.max_concurrent = max_concurrent
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        self.in_flight = 0
        self.queued = 0
        self._slots = asyncio.Semaphore(max_concurrent)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the body; `Shed` when none is free and the queue is full, or
        none freed up within the queue timeout."""
        if self._slots.locked() or self.queued:
            if self.queued >= self.max_queued:
                raise Shed("queue_full")
            self.queued += 1
            try:
                async with asyncio.timeout(self.queue_timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise Shed("queue_timeout") from None
            finally:
                self.queued -= 1
        else:
            await self._slots.acquire()  # free: returns at once
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self._slots.release()
