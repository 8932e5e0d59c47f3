"""The trust registry against the hub's database, for `registry publish` and `serve`.

Both read the hub configuration (yanxing.toml: [hub] database_url, [trust] hub_public_key),
verify a signed registry with the hub key and compare it with the newest one the hub accepted
(hub.contracts.registry_state): `publish` stores it, `serve` refuses an older one before
uvicorn starts, so a downgrade ends with a message and exit 2, not a startup traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.cli._json_files import read_document
from hub.contracts.keys import load_public_key
from hub.contracts.registry_state import accept_registry, check_not_older
from hub.contracts.trust_registry import Registry, verify_registry
from hub.settings import TrustConfig
from hub.store.session import create_engine, create_session_factory, init_db

__all__ = ["verified_registry", "publish_registry", "check_registry_not_older"]

T = TypeVar("T")


def verified_registry(path: Path, trust: TrustConfig) -> tuple[dict[str, Any], Registry]:
    """The signed registry in `path` and what it says, verified with the hub's public key."""
    envelope = read_document(path, what="signed trust registry")
    return envelope, verify_registry(envelope, load_public_key(trust.hub_public_key_path))


def _on_hub_db(database_url: str,
               action: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(database_url)
        try:
            await init_db(engine)  # as every other command but serve: upgrade to head
            return await action(create_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def publish_registry(database_url: str, envelope: dict[str, Any], registry: Registry) -> bool:
    """Store `registry` as the newest accepted one (True), or find it already is (False)."""
    return _on_hub_db(database_url,
                      lambda sessions: accept_registry(sessions, envelope, registry))


def check_registry_not_older(database_url: str, trust: TrustConfig) -> None:
    """Raise RegistryDowngrade if trust.registry is older than the hub accepted before."""
    envelope, registry = verified_registry(trust.registry_path, trust)
    _on_hub_db(database_url, lambda sessions: check_not_older(sessions, envelope, registry))
