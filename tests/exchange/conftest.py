"""The trusted world (tests/api/trusted.py) served by a real uvicorn on 127.0.0.1, so ledger
mutations, their retries and their concurrent duplicates travel over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from hub.app import create_app
from hub.settings import Mode
from tests.api.conftest import make_world  # noqa: F401  (fixture)
from tests.api.trusted import Trusted, make_trusted


@pytest.fixture
async def served(make_world: Callable[..., Any],
                 tmp_path: Any) -> AsyncIterator[Trusted]:
    t = await make_trusted(make_world, tmp_path)
    config = uvicorn.Config(create_app(t.world.runtime, mode=Mode.development()),
                            host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    await t.world.client.aclose()
    t.world.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        yield t
    finally:
        await t.world.client.aclose()
        server.should_exit = True
        await task
        await t.trust.close()


async def ledger_rows(t: Trusted) -> list[Any]:
    async with t.world.runtime.engine.connect() as conn:
        return list((await conn.execute(text(
            "SELECT id, action, member_key, party, idempotency_key, payload "
            "FROM exchange_entries ORDER BY id"))).all())


async def audit_bodies(t: Trusted) -> list[dict[str, Any]]:
    import json

    await t.trust.audit_log.drain()
    async with t.world.runtime.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT body FROM audit_entries ORDER BY seq"))).all()
    return [json.loads(r[0]) for r in rows]
