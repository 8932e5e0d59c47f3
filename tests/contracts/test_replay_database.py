"""The database replay cache, group-committed: exactly one of any number of concurrent uses of
one token is accepted, within one process and between processes (two caches on one database),
an expired entry is taken over, and a database failure refuses every token of the batch
(SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.contracts.replay import DatabaseReplayCache
from hub.contracts.store import SeenTokenRow
from hub.contracts.tokens import TokenRejected
from hub.store.session import create_session_factory

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)


async def test_one_use_of_each_token_among_concurrent_ones(engine: AsyncEngine) -> None:
    one, other = (DatabaseReplayCache(create_session_factory(engine)) for _ in range(2))
    asks = [cache.remember(jti, LATER, NOW) for jti in ("a", "b", "a", "c", "a")
            for cache in (one, other)]
    answers = await asyncio.gather(*asks)
    accepted = {"a": 0, "b": 0, "c": 0}
    for (jti, _), fresh in zip([(j, c) for j in ("a", "b", "a", "c", "a")
                                for c in (one, other)], answers):
        accepted[jti] += fresh
    assert accepted == {"a": 1, "b": 1, "c": 1}
    assert await one.remember("a", LATER, NOW) is False
    async with create_session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(SeenTokenRow)) == 3


async def test_an_expired_entry_is_taken_over_once(engine: AsyncEngine) -> None:
    cache = DatabaseReplayCache(create_session_factory(engine))
    assert await cache.remember("j", NOW + timedelta(seconds=1), NOW) is True
    after = NOW + timedelta(seconds=2)
    # the purge runs once a minute; within it, the stale row is taken over, by one ask only
    answers = await asyncio.gather(*(cache.remember("j", LATER, after) for _ in range(3)))
    assert sorted(answers) == [False, False, True]


async def test_a_failing_database_refuses_the_whole_batch(engine: AsyncEngine) -> None:
    cache = DatabaseReplayCache(create_session_factory(engine))
    broken = {"on": True}

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "seen_tokens" in statement and broken["on"]:
            raise engine.dialect.dbapi.OperationalError("disk I/O error")  # type: ignore[union-attr]

    results = await asyncio.gather(*(cache.remember(j, LATER, NOW) for j in "xyz"),
                                   return_exceptions=True)
    assert all(isinstance(r, TokenRejected) and r.reason == "replay_cache_unavailable"
               for r in results), results
    broken["on"] = False
    assert await cache.remember("x", LATER, NOW) is True  # nothing was half-remembered


@pytest.mark.parametrize("n", [64])
async def test_many_concurrent_tokens_in_few_transactions(engine: AsyncEngine, n: int) -> None:
    commits = []
    event.listen(engine.sync_engine, "commit", lambda conn: commits.append(1))
    cache = DatabaseReplayCache(create_session_factory(engine))
    answers = await asyncio.gather(*(cache.remember(f"t{i}", LATER, NOW) for i in range(n)))
    assert all(answers)
    assert len(commits) <= 3, f"{len(commits)} commits for {n} concurrent tokens"
