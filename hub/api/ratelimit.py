"""Rate limits: a token bucket per party and per client address (`[limits.rate]`).

A bucket holds at most `burst` tokens and refills `per_second` a second; each request takes one.
A request that finds the bucket empty is answered at once with HTTP 429, `extensions.code =
RATE_LIMITED` and `Retry-After` (the seconds until a token is back), before it costs anything
more. The address bucket is checked before authentication (a flood of bad tokens must not cost
a signature check and a replay-cache write each), the party bucket after it (a party's limit
holds however many addresses it calls from).

With several hub processes the buckets must be shared, or each process would grant the whole
limit: `RedisBuckets` keeps them in Redis and updates each in one Lua script (read, refill,
take, write and expire in one atomic step, on Redis's own clock, so processes with skewed
clocks agree). Without Redis, `MemoryBuckets` keeps them in the process. If Redis fails, the
limiter falls back to its process's own buckets (logged once per outage) rather than refusing
every request or letting every request through.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hub.settings import PartyRate, RateLimits

__all__ = ["Decision", "Buckets", "MemoryBuckets", "RedisBuckets", "RateLimiter",
           "RATE_LIMITED", "client_key", "retry_after_header"]

log = logging.getLogger("hub.api")

RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    #: seconds until the next token (0 when allowed)
    retry_after: float = 0.0


ALLOWED = Decision(True)


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds; never 0 for a refusal (a client would spin)."""
    return str(max(1, math.ceil(seconds)))


class Buckets(Protocol):
    async def take(self, key: str, rate: PartyRate) -> Decision:
        """Take one token from bucket `key` shaped `rate`."""
        ...


class MemoryBuckets:
    """Buckets in this process: an LRU of at most `max_keys`, so a scan of many addresses
    cannot grow it without bound (an evicted bucket starts full again: the cost of that is a
    burst, never a wrong refusal)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def take(self, key: str, rate: PartyRate) -> Decision:
        return self.take_now(key, rate)

    def take_now(self, key: str, rate: PartyRate) -> Decision:
        if rate.per_second <= 0:
            return ALLOWED
        now = self.clock()
        tokens, stamp = self._buckets.pop(key, (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + max(0.0, now - stamp) * rate.per_second)
        if tokens >= 1.0:
            decision, tokens = ALLOWED, tokens - 1.0
        else:
            decision = Decision(False, (1.0 - tokens) / rate.per_second)
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return decision


#: KEYS[1] the bucket; ARGV: per_second, burst. Returns {allowed (0/1), retry_after (string:
#: Lua numbers become integers in replies)}. Redis's TIME is the clock of every process.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(saved[1])
local ts = tonumber(saved[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""


class RedisBuckets:
    """Buckets in Redis, shared by every hub process on it; `fallback` serves while Redis is
    unreachable."""

    def __init__(self, client: Any, prefix: str = "yanxing:rate:",
                 fallback: MemoryBuckets | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.local = fallback or MemoryBuckets()
        self._script = client.register_script(_TAKE)
        self._down = False

    @classmethod
    def from_url(cls, url: str, prefix: str = "yanxing:rate:") -> RedisBuckets:
        import redis.asyncio as redis

        return cls(redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0),
                   prefix)

    async def take(self, key: str, rate: PartyRate) -> Decision:
        from redis.exceptions import RedisError

        if rate.per_second <= 0:
            return ALLOWED
        try:
            allowed, wait = await self._script(keys=[self.prefix + key],
                                               args=[rate.per_second, rate.burst])
        except (RedisError, OSError) as exc:
            if not self._down:
                log.error("rate limits: Redis unreachable (%s); this process limits on its own "
                          "until it is back", type(exc).__name__)
                self._down = True
            return self.local.take_now(key, rate)
        if self._down:
            log.info("rate limits: Redis is back")
            self._down = False
        if int(allowed) == 1:
            return ALLOWED
        return Decision(False, float(wait))

    async def aclose(self) -> None:
        await self.client.aclose()


def client_key(host: str | None) -> str:
    """The address bucket of a client: its IPv4 address, or its IPv6 /64 (one host commonly
    holds a whole /64, so per-address IPv6 buckets would be no limit at all)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


class RateLimiter:
    """The two buckets of a request: its client address, then its party."""

    def __init__(self, rates: RateLimits, buckets: Buckets | None = None) -> None:
        self.rates = rates
        self.buckets: Buckets = buckets or MemoryBuckets()

    async def check_address(self, host: str | None) -> Decision:
        return await self.buckets.take("addr:" + client_key(host), self.rates.address)

    async def check_party(self, party: str) -> Decision:
        return await self.buckets.take("party:" + party, self.rates.for_party(party))

    async def aclose(self) -> None:
        close = getattr(self.buckets, "aclose", None)
        if close is not None:
            await close()
