"""The ledger's tail, for subscriptions: wake every waiter when a new entry is committed.

Entries are appended by any hub process on the shared database, so the feed reads the
database rather than listening in-process: ONE poller per process asks for the newest entry
number every `poll_seconds` while at least one subscriber waits (and stops when none does),
however many subscribers there are. Each subscriber then reads the entries after its own
position with its own scope (hub.api.types.subscriptions), so the feed itself never holds or
shows an entry. `poke()` makes the poller look at once (this process just appended one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.exchange.ledger import ExchangeEntryRow

__all__ = ["LedgerFeed"]

log = logging.getLogger("hub.exchange.feed")


class LedgerFeed:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *,
                 poll_seconds: float = 0.25) -> None:
        self.sessions = sessions
        self.poll_seconds = poll_seconds
        self._latest: int | None = None
        self._changed = asyncio.Condition()
        self._poke = asyncio.Event()
        self._waiters = 0
        self._task: asyncio.Task[None] | None = None

    async def latest(self) -> int:
        """The newest entry number now (0 for an empty ledger)."""
        async with self.sessions() as session:
            return int(await session.scalar(select(func.max(ExchangeEntryRow.id))) or 0)

    def poke(self) -> None:
        self._poke.set()

    async def wait_beyond(self, position: int) -> int:
        """Return the newest entry number once it is beyond `position`."""
        self._waiters += 1
        try:
            self._ensure_polling()
            async with self._changed:
                await self._changed.wait_for(
                    lambda: self._latest is not None and self._latest > position)
                assert self._latest is not None
                return self._latest
        finally:
            self._waiters -= 1

    def _ensure_polling(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll(), name="ledger-feed")

    async def _poll(self) -> None:
        while self._waiters > 0:
            try:
                newest = await self.latest()
            except Exception:  # the database is away: keep the subscribers, try again
                log.warning("ledger feed: cannot read the newest entry; retrying")
            else:
                if self._latest is None or newest != self._latest:
                    async with self._changed:
                        self._latest = newest
                        self._changed.notify_all()
            self._poke.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.poll_seconds)
