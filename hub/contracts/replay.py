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

import asyncio
import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

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


@dataclass(slots=True)
class _Asked:
    digest: str
    expires_at: datetime
    now: datetime
    answer: asyncio.Future[bool]


class DatabaseReplayCache:
    """Replay cache in the hub's database (`seen_tokens`): shared by every process on it.

    Group-committed like the audit log: the tokens of requests arriving while a write is in
    progress are remembered together, in one transaction (one INSERT ... ON CONFLICT DO
    NOTHING for all of them), and each call returns once that transaction has committed. On
    PostgreSQL a commit waits for the disk (~5 ms on a busy one): per request, that was the
    largest cost of an authenticated request after the audit entry. Who wins stays exact: the
    unique digest decides between processes, the first asker within a batch."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._next_purge: datetime | None = None
        self._pending: list[_Asked] = []
        self._writer: asyncio.Task[None] | None = None
        #: the INSERT ... ON CONFLICT DO NOTHING RETURNING, built once per dialect
        self._insert: dict[str, Any] = {}

    async def remember(self, jti: str, expires_at: datetime, now: datetime) -> bool:
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Asked(replay_digest(jti), expires_at, now, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_pending())
        # shield: a cancelled request must not cancel the write of other requests' tokens
        return await asyncio.shield(answer)

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                fresh = await self._remember_batch(batch)
            except SQLAlchemyError as exc:
                refusal = _unavailable("database", exc)
                for asked in batch:
                    asked.answer.set_exception(refusal)
                    asked.answer.exception()  # retrieved: a caller that left must not warn
                continue
            for asked in batch:
                asked.answer.set_result(id(asked) in fresh)

    async def _remember_batch(self, batch: list[_Asked]) -> set[int]:
        """ids of the asks whose token was new (or whose earlier entry had expired)."""
        first: dict[str, _Asked] = {}
        for asked in batch:
            first.setdefault(asked.digest, asked)  # a token twice in one batch: first wins
        now = max(asked.now for asked in batch)
        # a Core connection, not an ORM session: one transaction of one or two statements,
        # with nothing for a session to track (~250 calls a request less)
        engine: AsyncEngine = self._sessions.kw["bind"]
        async with engine.begin() as conn:
            if self._next_purge is None or now >= self._next_purge:
                self._next_purge = now + _PURGE_EVERY
                await conn.execute(delete(SeenTokenRow).where(SeenTokenRow.expires_at <= now))
            inserted = set((await conn.execute(
                self._insert_for(conn.dialect.name),
                [{"digest": d, "expires_at": a.expires_at} for d, a in first.items()],
            )).scalars())
            # seen before: a replay, unless that entry has expired (then take it over)
            for digest in first.keys() - inserted:
                asked = first[digest]
                taken = await conn.execute(
                    update(SeenTokenRow)
                    .where(SeenTokenRow.digest == digest, SeenTokenRow.expires_at <= asked.now)
                    .values(expires_at=asked.expires_at))
                if taken.rowcount:
                    inserted.add(digest)
        return {id(first[d]) for d in inserted}

    def _insert_for(self, dialect: str) -> Any:
        """INSERT ... ON CONFLICT (digest) DO NOTHING RETURNING digest, built once (a
        statement made anew per batch is keyed for SQLAlchemy's compiled cache anew)."""
        statement = self._insert.get(dialect)
        if statement is None:
            table = cast(Table, SeenTokenRow.__table__)
            made = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
            statement = self._insert[dialect] = (
                made.on_conflict_do_nothing(index_elements=["digest"])
                .returning(table.c.digest))
        return statement

    async def aclose(self) -> None:
        """Wait for tokens being remembered; the sessions belong to the app."""
        if self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])


def open_replay_cache(spec: str, sessions: async_sessionmaker[AsyncSession], *,
                      prefix: str = DEFAULT_PREFIX) -> ReplayCache:
    """The cache `[trust] replay_cache` names (validated by hub.settings): "memory",
    "database" or a redis:// / rediss:// / unix:// URL."""
    if spec == "memory":
        return MemoryReplayCache()
    if spec == "database":
        return DatabaseReplayCache(sessions)
    return RedisReplayCache.from_url(spec, prefix)
