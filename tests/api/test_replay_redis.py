"""The Redis replay cache (`[trust] replay_cache = "redis://..."`) over HTTP: a token used on
one hub app is refused on another sharing the Redis, and after a restart (a new app, same
Redis); an unreachable Redis refuses tokens (fails closed) with a reason, never a 500.

Redis: $YANXING_TEST_REDIS_URL, default redis://127.0.0.1:6379/3. Keys carry a per-test
prefix and only those are deleted. Unreachable: skipped, unless CI=true (then it fails)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from hub.contracts.trust import Trust
from tests.api.trusted import Trusted

REDIS_ENV = "YANXING_TEST_REDIS_URL"
QUERY = "{ contracts { id state } }"


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[str, str]]:
    """(Redis URL, a key prefix of this test's own); the prefix's keys are deleted after."""
    import redis.asyncio as redis

    url = os.environ.get(REDIS_ENV, "redis://127.0.0.1:6379/3")
    client = redis.Redis.from_url(url, socket_connect_timeout=2.0)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:
        await client.aclose()
        message = f"Redis at {url} is unreachable: {type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    prefix = f"yanxing-test:{uuid.uuid4().hex[:12]}:"
    try:
        yield url, prefix
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def _open(trusted: Trusted, url: str, prefix: str) -> Trust:
    runtime = trusted.world.runtime
    config = replace(trusted.demo.trust_config(submit=False), replay_cache=url,
                     replay_cache_prefix=prefix)
    return await Trust.open(config, runtime.engine, runtime.session_factory, runtime.registry)


async def test_token_used_on_one_app_is_refused_on_another_and_after_restart(
        trusted: Trusted, redis_prefix: tuple[str, str]) -> None:
    import redis.asyncio as redis

    url, prefix = redis_prefix
    runtime = trusted.world.runtime
    app_a, app_b = await _open(trusted, url, prefix), await _open(trusted, url, prefix)
    token = trusted.demo.token_for("wenjiang")
    try:
        runtime.enforcement = app_a
        assert (await trusted.post(QUERY, token=token)).status_code == 200
        runtime.enforcement = app_b
        on_b = await trusted.post(QUERY, token=token)
        assert on_b.status_code == 401, on_b.text
        assert on_b.json()["errors"][0]["extensions"]["reason"] == "replayed"
        assert (await trusted.post(QUERY, party="wenjiang")).status_code == 200  # fresh: ok
    finally:
        await app_a.close()
        await app_b.close()
    restarted = await _open(trusted, url, prefix)
    runtime.enforcement = restarted
    try:
        again = await trusted.post(QUERY, token=token)
        assert again.status_code == 401 and \
            again.json()["errors"][0]["extensions"]["reason"] == "replayed"
    finally:
        await restarted.close()
    # the key expires with the token (Redis cleans up), and holds no token text
    client = redis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        assert len(keys) == 2
        ttls = [await client.ttl(k) for k in keys]
        assert all(0 < t <= 600 for t in ttls), ttls
        assert all(token.split(".")[1][:20].encode() not in k for k in keys)
    finally:
        await client.aclose()


async def test_unreachable_redis_refuses_tokens_with_a_reason(trusted: Trusted) -> None:
    runtime = trusted.world.runtime
    unreachable = await _open(trusted, "redis://127.0.0.1:1/0", "yanxing-test:none:")
    runtime.enforcement = unreachable
    try:
        refused = await trusted.post(QUERY, party="wenjiang")
        assert refused.status_code == 401, refused.text
        error = refused.json()["errors"][0]
        assert error["extensions"]["reason"] == "replay_cache_unavailable"
        assert "127.0.0.1:1" not in error["message"] and "Traceback" not in refused.text
    finally:
        await unreachable.close()
