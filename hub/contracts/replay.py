"""Replay caches shared by every hub process: Redis, or the hub's own database.

A token is single use (`jti`). An in-memory cache forgets on restart and is blind to the other
workers, so a captured token would replay there; these caches are shared and survive restarts:

- `RedisReplayCache` (`[trust] replay_cache = "redis://host:6379/0"`): one `SET key NX EX`
  per token, atomic across processes; the key expires with the token, so Redis cleans up.
- `DatabaseReplayCache` (`replay_cache = "database"`, the default): an INSERT into
  `seen_tokens` (primary key = the token's digest), atomic on SQLite and PostgreSQL; expired
  rows are purged at most once a minute per process.
- `memory` (hub.contracts.tokens.MemoryReplayCache): one process only; tests and the demo.

Keys are sha256 of "issuer NUL jti": fixed size whatever a token carries. Any failure to
reach the cache refuses the token (`replay_cache_unavailable`): a hub that cannot tell a replay
must not accept one.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.contracts.store import SeenTokenRow
from hub.contracts.tokens import MemoryReplayCache, ReplayCache, TokenRejected

__all__ = [
    "DEFAULT_PREFIX",
    "RedisReplayCache",
    "DatabaseReplayCache",
    "open_replay_cache",
    "replay_digest",
]

log = logging.getLogger(__name__)

#: prefix of the Redis keys (`[trust] replay_cache_prefix`); tests use their own
DEFAULT_PREFIX = "yanxing:replay:"
_PURGE_EVERY = timedelta(seconds=60)


def replay_digest(jti: str) -> str:
    return hashlib.sha256(jti.encode("utf-8", "surrogatepass")).hexdigest()


def _unavailable(what: str, exc: BaseException) -> TokenRejected:
    log.error("replay cache (%s) unavailable: %s", what, type(exc).__name__)
    return TokenRejected(
        "replay_cache_unavailable",
        "the hub cannot check whether this token was used before, so it refuses it; retry "
        "in a moment with a new token (the operator sees the cause in the hub's log)",
    )


class RedisReplayCache:
    """Replay cache in Redis (redis.asyncio): shared by every process using the same server."""

    def __init__(self, client: Any, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisReplayCache:
        import redis.asyncio as redis

        return cls(redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0),
                   prefix)

    async def remember(self, jti: str, expires_at: datetime, now: datetime) -> bool:
        from redis.exceptions import RedisError

        ttl = max(1, math.ceil((expires_at - now).total_seconds()))
        try:
            stored = await self._client.set(self._prefix + replay_digest(jti), b"1",
                                            nx=True, ex=ttl)
        except (RedisError, OSError) as exc:
            raise _unavailable("redis", exc) from exc
        return bool(stored)

    async def aclose(self) -> None:
        await self._client.aclose()


class DatabaseReplayCache:
    """Replay cache in the hub's database (`seen_tokens`): shared by every process on it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._next_purge: datetime | None = None

    async def remember(self, jti: str, expires_at: datetime, now: datetime) -> bool:
        digest = replay_digest(jti)
        try:
            if self._next_purge is None or now >= self._next_purge:
                self._next_purge = now + _PURGE_EVERY
                async with self._sessions.begin() as session:
                    await session.execute(delete(SeenTokenRow)
                                          .where(SeenTokenRow.expires_at <= now))
            try:
                async with self._sessions.begin() as session:
                    await session.execute(insert(SeenTokenRow).values(
                        digest=digest, expires_at=expires_at))
                return True
            except IntegrityError:
                # seen before: a replay, unless that entry has expired (then take it over)
                async with self._sessions.begin() as session:
                    result = await session.execute(
                        update(SeenTokenRow)
                        .where(SeenTokenRow.digest == digest, SeenTokenRow.expires_at <= now)
                        .values(expires_at=expires_at))
                return bool(result.rowcount)  # type: ignore[attr-defined]
        except SQLAlchemyError as exc:
            raise _unavailable("database", exc) from exc

    async def aclose(self) -> None:
        """The sessions belong to the app: nothing to release here."""


def open_replay_cache(spec: str, sessions: async_sessionmaker[AsyncSession], *,
                      prefix: str = DEFAULT_PREFIX) -> ReplayCache:
    """The cache `[trust] replay_cache` names (validated by hub.settings): "memory",
    "database" or a redis:// / rediss:// / unix:// URL."""
    if spec == "memory":
        return MemoryReplayCache()
    if spec == "database":
        return DatabaseReplayCache(sessions)
    return RedisReplayCache.from_url(spec, prefix)
