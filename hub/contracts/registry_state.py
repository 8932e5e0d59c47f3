"""The newest trust registry the hub accepted, kept in the hub's database (`registry_state`).

Why the database: it is the one thing every hub process on a deployment already shares, it is
transactional, and it outlives restarts. So the same row is
- the downgrade guard: a validly signed but older registry (which could bring a revoked key
  back) is refused at start (`accept_registry` raises `RegistryDowngrade`), whoever restarts;
- the hot-reload channel: `yanxing registry publish FILE` verifies a registry and stores it
  here; every hub process compares the stored version with its own on each request (one
  primary-key read over a held connection, hub.contracts.store.StateWatch) and loads, verifies
  and switches to a newer one before it authenticates the request. An admin endpoint would
  reach only the one process behind the load balancer that took the call; a watched file needs
  a shared filesystem and gives no atomic "only ever newer" update.
What is stored is the signed envelope: each process verifies it against the hub key it trusts,
so write access to the database alone cannot install a registry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.canonical_json import strict_loads
from hub.clock import format_time, utcnow
from hub.contracts.store import RegistryStateRow
from hub.contracts.trust_registry import Registry, RegistryDowngrade, RegistryError
from hub.jws import parse_general

__all__ = ["accept_registry", "check_not_older", "newest_registry"]


async def accept_registry(
    sessions: async_sessionmaker[AsyncSession],
    envelope: Mapping[str, Any],
    registry: Registry,
    *,
    now: datetime | None = None,
) -> bool:
    """Record `registry` (verified, with its signed `envelope`) as accepted. True when it is
    newer than what was stored; False when it is the one already stored. Raises
    `RegistryDowngrade` for an older version, `RegistryError` for a different registry under
    the stored version number (two documents cannot both be version N)."""
    now = now or utcnow()
    text = json.dumps(envelope, ensure_ascii=False, sort_keys=True)
    for attempt in (1, 2):
        try:
            async with sessions.begin() as session:
                row = await session.get(RegistryStateRow, 1, with_for_update=True)
                if row is None:
                    await session.execute(insert(RegistryStateRow).values(
                        id=1, version=registry.version, envelope=text, accepted_at=now))
                    return True
                if not _is_newer(row, registry, envelope):
                    return False
                row.version, row.envelope, row.accepted_at = registry.version, text, now
                return True
        except IntegrityError:
            if attempt == 2:
                raise
            # another process stored the first row at the same moment: decide against it
    raise AssertionError("unreachable")


async def check_not_older(
    sessions: async_sessionmaker[AsyncSession],
    envelope: Mapping[str, Any],
    registry: Registry,
) -> None:
    """Raise as `accept_registry` would, without storing anything (`yanxing serve` checks
    before it starts the server, so a downgrade is an error message, not a failed startup)."""
    async with sessions() as session:
        row = await session.get(RegistryStateRow, 1)
    if row is not None:
        _is_newer(row, registry, envelope)


def _is_newer(row: RegistryStateRow, registry: Registry, envelope: Mapping[str, Any]) -> bool:
    """True when `registry` is newer than the stored one, False when it is the stored one;
    raises for an older one or a different one under the same version."""
    if registry.version < row.version:
        raise RegistryDowngrade(
            f"trust registry version {registry.version} is older than version "
            f"{row.version}, which this hub accepted at "
            f"{format_time(_aware(row.accepted_at))}: an older registry could bring revoked "
            "keys back. Install the newest signed registry (the one last published with "
            "`yanxing registry publish`) as trust.registry"
        )
    if registry.version == row.version:
        if _payload(strict_loads(row.envelope)) != _payload(envelope):
            raise RegistryError(
                f"trust registry version {registry.version} differs from the registry of the "
                "same version this hub already accepted: a changed registry needs a higher "
                "version (yanxing registry sign bumps it)"
            )
        return False
    return True


async def newest_registry(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[int, dict[str, Any]] | None:
    """(version, signed envelope) of the newest accepted registry; None when none is stored.

    The envelope is unverified: verify it (hub.contracts.trust_registry.verify_registry)
    before use.
    """
    async with sessions() as session:
        row = await session.get(RegistryStateRow, 1)
    if row is None:
        return None
    return row.version, strict_loads(row.envelope)


def _payload(envelope: Mapping[str, Any]) -> str:
    return parse_general(envelope).payload_b64


def _aware(value: datetime) -> datetime:
    """SQLite hands timezone-aware columns back naive (they are stored in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
