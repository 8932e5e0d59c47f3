"""Apps for the production-mode tests: the API tests' federation (tests/api/conftest.py) served
by the real app in a given mode, anonymous (`open_access`) or under real signed contracts with a
fresh party token per request; and a settings-built app on a real uvicorn server, as
`yanxing serve` builds it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from hub.api.runtime import Runtime
from hub.app import create_app
from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.settings import Mode
from tests.api.conftest import build_world

PARTIES = [("wenjiang", "温江区委组织部", ["510115"]), ("luxian", "泸县委组织部", ["510521"])]
PRODUCTION = Mode()
OPEN_PRODUCTION = Mode(open_access=True)
DEVELOPMENT = Mode.development()


@dataclass
class Hub:
    """One federation; `client(mode)` serves it in that mode (each a real app)."""

    runtime: Runtime
    demo: DemoTrust | None = None
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, mode: Mode, **kwargs: Any) -> httpx.AsyncClient:
        app = create_app(self.runtime, mode=mode, **kwargs)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://hub")
        self.clients.append(client)
        return client

    def auth(self, party: str = "wenjiang") -> dict[str, str]:
        """Headers of one request: a fresh token under trust (tokens are single use)."""
        if self.demo is None:
            return {}
        return {"Authorization": f"Bearer {self.demo.token_for(party)}"}


@pytest.fixture
async def hub(session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine,
              secret: bytes) -> AsyncIterator[Hub]:
    """The federation without trust (production needs `open_access` to serve it)."""
    *_, runtime = await build_world(session_factory, engine, secret, n=5)
    served = Hub(runtime)
    yield served
    for client in served.clients:
        await client.aclose()


@pytest.fixture
async def trusted_hub(session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine,
                      secret: bytes, tmp_path: Path) -> AsyncIterator[Hub]:
    """The federation under signed contracts (the enforcement is there before the app is
    built, as `yanxing serve` opens it)."""
    from hub.contracts.trust import Trust

    *_, runtime = await build_world(session_factory, engine, secret, n=5)
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    trust = await Trust.open(demo.trust_config(), runtime.engine, runtime.session_factory,
                             runtime.registry)
    runtime.enforcement = trust
    served = Hub(runtime, demo)
    yield served
    for client in served.clients:
        await client.aclose()
    await trust.close()


@contextlib.asynccontextmanager
async def on_uvicorn(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` (lifespan on) on 127.0.0.1, any free port; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


SECRET = "s" * 40


def write_config(directory: Path, hub_lines: str = "", trust: DemoTrust | None = None) -> Path:
    """A yanxing.toml with no sources; `hub_lines` go into [hub], `trust` adds [trust]."""
    lines = ["[hub]", 'database_url = "sqlite+aiosqlite:///hub.db"', f'secret = "{SECRET}"',
             hub_lines, ""]
    if trust is not None:
        def rel(path: Path) -> str:
            return Path(path).resolve().relative_to(directory.resolve()).as_posix()

        lines += ["[trust]", f'registry = "{rel(trust.registry_path)}"',
                  f'hub_public_key = "{rel(trust.hub_public_key_path)}"',
                  f'audience = "{trust.hub_id}"',
                  "contracts = [" + ", ".join(f'"{rel(p)}"' for p in trust.contracts.values())
                  + "]", ""]
    path = directory / "yanxing.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
