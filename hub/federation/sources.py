"""The runtime set of open source connectors: who they are, whose they are, how they are doing.

Settings say which sources exist; the registry holds them *open* for the life of the app, with
what the query path needs per source: its side (for field authority), its owning party (the
policy lets a party always see its own sources' data) and its last known health (shown by
`Query.sources` and `/readyz`). The app lifespan builds it and closes it.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connectors.base import Connector
from connectors.errors import ConnectorError, SourceError, SourceTimeout
from hub.federation.breaker import CircuitBreaker, RetryBudget, guarded_read
from hub.model import Side

__all__ = ["HealthStatus", "SourceHealth", "SourceEntry", "SourceRegistry", "DEFAULT_TIMEOUT",
           "auxiliary_fields"]

#: seconds a source may take to answer one batch when settings do not say otherwise
DEFAULT_TIMEOUT = 5.0


def auxiliary_fields(connector: Connector) -> frozenset[str]:
    """The member fields (and "ext.<name>" extensions) a source only fills in (its mapping's
    `authority`); none for a connector without a mapping."""
    fields = getattr(getattr(connector, "mapping", None), "auxiliary_fields", None)
    return frozenset(fields()) if callable(fields) else frozenset()


class HealthStatus(enum.Enum):
    UNKNOWN = "unknown"    # not asked yet
    OK = "ok"
    DOWN = "down"          # unavailable, timed out, refused or answered garbage


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """The outcome of the last ping or read; `code` is the error code when it failed."""

    status: HealthStatus = HealthStatus.UNKNOWN
    checked_at: datetime | None = None
    code: str | None = None
    message: str | None = None

    @classmethod
    def ok(cls) -> SourceHealth:
        return cls(HealthStatus.OK, datetime.now(UTC))

    @classmethod
    def failed(cls, error: ConnectorError) -> SourceHealth:
        return cls(HealthStatus.DOWN, datetime.now(UTC), error.code, str(error))


@dataclass(slots=True)
class SourceEntry:
    """One open source. `timeout` bounds each call the hub makes to it, in seconds; `breaker`
    and `retry_budget` guard its reads (hub.federation.breaker)."""

    name: str
    side: Side
    connector: Connector
    owner: str | None = None
    title: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    health: SourceHealth = field(default_factory=SourceHealth)
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    retry_budget: RetryBudget = field(default_factory=RetryBudget)

    @property
    def kind(self) -> str:
        return self.connector.kind


class SourceRegistry:
    """Open connectors by name. Iterating yields entries in configuration order."""

    def __init__(self, entries: Iterable[SourceEntry] = ()) -> None:
        self._entries: dict[str, SourceEntry] = {}
        #: monotonic time the last complete round of pings finished (None: never)
        self._pinged_at: float | None = None
        #: the round of pings in flight, shared by everyone who asks meanwhile
        self._pinging: asyncio.Future[dict[str, SourceHealth]] | None = None
        for entry in entries:
            self.add(entry)

    def add(self, entry: SourceEntry) -> None:
        if entry.name in self._entries:
            raise ValueError(f"duplicate source name {entry.name!r}")
        self._entries[entry.name] = entry

    def get(self, name: str) -> SourceEntry | None:
        return self._entries.get(name)

    def owner_of(self, name: str) -> str | None:
        """The party owning source `name` (None when unknown or not configured)."""
        entry = self._entries.get(name)
        return entry.owner if entry else None

    def __iter__(self) -> Iterator[SourceEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def record(self, name: str, error: ConnectorError | None) -> None:
        """Remember the outcome of a call to source `name` as its health."""
        entry = self._entries.get(name)
        if entry is not None:
            entry.health = SourceHealth.ok() if error is None else SourceHealth.failed(error)

    async def ping(self, name: str) -> SourceHealth:
        """Ping one source within its timeout, through its breaker, and record the outcome:
        a source whose breaker is open is not called (it is down until its probe), a ping
        that times out or cannot connect counts against the breaker, and after the reset time
        a ping may be the half-open probe that closes it again."""
        entry = self._entries[name]
        error: ConnectorError | None = None

        async def ping() -> None:
            try:
                await asyncio.wait_for(entry.connector.ping(), entry.timeout)
            except TimeoutError:
                raise SourceTimeout(name, f"no answer within {entry.timeout:g} s") from None

        try:
            await guarded_read(name, ping, entry.breaker)
        except ConnectorError as exc:
            error = exc
        except Exception:  # a connector bug must not take readiness down with it
            error = SourceError(name, "ping failed unexpectedly")
        self.record(name, error)
        return entry.health

    async def ping_all(self, *, max_age: float = 0.0) -> dict[str, SourceHealth]:
        """Ping every source concurrently; returns name -> health.

        Health is a shared resource, not a per-caller one: a round finished less than
        `max_age` seconds ago is answered from the recorded health, and callers arriving while
        a round is in flight wait for that round instead of starting another. So /readyz
        (which needs no token) and `sources(ping: true)` under aliases cannot multiply the
        calls the sources receive."""
        if (self._pinged_at is not None and max_age > 0
                and time.monotonic() - self._pinged_at < max_age):
            return {name: entry.health for name, entry in self._entries.items()}
        if self._pinging is None or self._pinging.done():
            self._pinging = asyncio.ensure_future(self._ping_round())
        # shielded: a caller cancelled (its deadline) does not cancel the others' round
        return dict(await asyncio.shield(self._pinging))

    async def _ping_round(self) -> dict[str, SourceHealth]:
        names = list(self._entries)
        try:
            results = await asyncio.gather(*(self.ping(n) for n in names))
        finally:
            self._pinged_at = time.monotonic()
        return dict(zip(names, results))

    async def aclose(self) -> None:
        """Close every connector, even when some fail to close."""
        await asyncio.gather(
            *(e.connector.aclose() for e in self._entries.values()), return_exceptions=True
        )
