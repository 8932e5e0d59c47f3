"""What the API needs for the life of the process: index, sources, policy, limits, and
(under signed contracts) the enforcement that authenticates callers and picks each request's policy.

The app lifespan builds one `Runtime` (from settings, or tests build it directly with their own
engine and MockConnectors) and every request's `Context` points at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.api.enforcement import Enforcement
from hub.api.limits import Limits
from hub.federation.sources import SourceRegistry
from hub.policy.base import Policy
from hub.policy.masking import MaskingPolicy

if TYPE_CHECKING:
    from hub.exchange.feed import LedgerFeed
    from hub.exchange.outbox import DeliveryWorker

__all__ = ["Runtime"]


@dataclass(slots=True)
class Runtime:
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    registry: SourceRegistry
    policy: Policy = field(default_factory=MaskingPolicy)
    limits: Limits = field(default_factory=Limits)
    #: key for the HASHED transform (the hub secret); never leaves the process
    hash_key: bytes = b""
    #: under signed contracts: party tokens, a per-request contract policy and the audit log
    #: (None: no contracts, everyone anonymous under `policy`)
    enforcement: Enforcement | None = None
    #: write-back (hub.exchange.outbox): set by the app lifespan when a source takes writes;
    #: its `effect()` queues an appended entry's deliveries in the entry's transaction
    outbox: DeliveryWorker | None = None
    #: the ledger's tail for subscriptions (hub.api.types.events), made at the first one
    feed: LedgerFeed | None = None
