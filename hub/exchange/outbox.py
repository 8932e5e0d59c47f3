"""Write-back: a durable outbox that delivers ledger entries into the systems of record.

When a ledger entry is appended, `delivery_effect` (an `Effect` of the ledger's `append`, so
it runs IN THE SAME TRANSACTION as the entry) writes one delivery row per system of record
concerned: the sources holding the entry's member (its links) or its organisation. A source
whose connector declares WRITE and whose mapping has `[write.<action>]` gets a `pending`
row; one that cannot take the write gets a `not_applicable` row with the reason, so the entry
says it stays in the hub's ledger only. An entry no source holds has no rows at all.

`DeliveryWorker` (started in the app lifespan) claims due rows, calls `Connector.write` and
records the outcome: `delivered`, or a retry with exponential backoff and jitter after a
`SourceUnavailable`, or `failed` with the source's error text (digits masked, no record
values) after a final error or too many attempts. The idempotency key stored with the row is
sent with every attempt, so a write that arrived but whose answer was lost is recognised by
the source: never two rows there. Several hub processes on one database never deliver one
row at the same time: a row is claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
an atomic `UPDATE ... WHERE state/lease` on SQLite) and every outcome is written only by the
lease's holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from connectors.base import Capability, WriteRequest
from connectors.canonical import PAYLOAD_PREFIX
from connectors.errors import ConnectorError, SourceUnavailable, scrub
from hub.clock import as_utc
from hub.federation.sources import SourceRegistry
from hub.store.base import Base
from hub.store.models import OrganizationRow, SourceLinkRow

__all__ = [
    "DeliveryRow", "Delivery", "DeliveryState", "OutboxConfig", "DeliveryWorker",
    "Writers", "writers_of", "delivery_effect", "enqueue", "deliveries_of",
    "list_deliveries", "retry_delivery", "depth", "OutboundEntry",
]

log = logging.getLogger("hub.exchange.outbox")


def utcnow() -> datetime:
    """Now, to the microsecond: backoffs are scheduled below a second (hub.clock.utcnow
    drops the microseconds, as signed documents' times do)."""
    return datetime.now(UTC)


class DeliveryState:
    """The states of a delivery row (plain strings in the table)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"
    ALL = (PENDING, DELIVERED, FAILED, NOT_APPLICABLE)


class DeliveryRow(Base):
    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        UniqueConstraint("entry_id", "source", name="uq_outbox_entry_source"),
        Index("ix_outbox_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: the ledger entry delivered (exchange_entries.id)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64), index=True)
    #: sent with every attempt (REST header, SQL/ledger key column): the source's dedup key
    idempotency_key: Mapped[str] = mapped_column(String(200))
    #: the write's values as the entry had them (member key and local id, payload): what a
    #: retry sends, unchanged
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    #: why a not_applicable row will never be delivered
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    #: the last attempt's error: code (SOURCE_UNAVAILABLE, SOURCE_REJECTED ...) and text
    last_error_code: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    #: the source's own id of the row it made, when it said
    remote_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery row as plain values (what GraphQL and the CLI show)."""

    id: int
    entry_id: int
    action: str
    source: str
    state: str
    reason: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_error_code: str | None
    last_error: str | None
    remote_id: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Delivery:
        """Times in UTC, aware (SQLite hands them back naive)."""
        return cls(row.id, row.entry_id, row.action, row.source, row.state, row.reason,
                   row.attempts, as_utc(row.next_attempt_at), row.last_error_code,
                   row.last_error, row.remote_id, as_utc(row.created_at) or row.created_at,
                   as_utc(row.delivered_at))


class OutboundPayload(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class OutboundEntry(Protocol):
    """What the outbox reads of a ledger entry (hub.exchange.ledger.Entry has it)."""

    @property
    def id(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def member_key(self) -> str | None: ...
    @property
    def organizations(self) -> tuple[str, ...]: ...
    @property
    def party(self) -> str: ...
    @property
    def official(self) -> str | None: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def answers(self) -> int | None: ...
    @property
    def payload(self) -> OutboundPayload: ...


#: source name -> the actions it takes writes for (empty: it cannot write at all)
Writers = Mapping[str, frozenset[str]]


def writers_of(registry: SourceRegistry) -> dict[str, frozenset[str]]:
    """Every configured source and what it can write, from its connector."""
    out: dict[str, frozenset[str]] = {}
    for source in registry:
        connector = source.connector
        can = Capability.WRITE in connector.capabilities
        out[source.name] = frozenset(connector.write_actions) if can else frozenset()
    return out


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """How the worker delivers. Backoff after the n-th failed attempt: min(max_delay,
    base_delay * 2**(n-1)), times a random factor in [0.5, 1] (jitter, so the retries of many
    rows to one recovering source do not arrive together)."""

    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 3600.0
    max_attempts: int = 12
    #: how long a claim holds; a process that dies mid-delivery frees its rows after it
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    batch: int = 20

    def backoff(self, attempts: int, rng: random.Random) -> float:
        delay: float = min(self.max_delay_seconds,
                           self.base_delay_seconds * 2.0 ** max(0, attempts - 1))
        return delay * rng.uniform(0.5, 1.0)


# ---- enqueue (inside the ledger's transaction) -----------------------------------------------


def _values(entry: OutboundEntry, key: str, local_id: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "entry_id": str(entry.id), "action": entry.action, "idempotency_key": key,
        "member_key": entry.member_key, "member_local_id": local_id,
        "organization": entry.organizations[0] if entry.organizations else None,
        "party": entry.party, "user": entry.official,
        "recorded_at": entry.recorded_at.isoformat(),
        "answers": str(entry.answers) if entry.answers is not None else None,
    }
    for name, value in entry.payload.to_json().items():
        values[PAYLOAD_PREFIX + name] = value
    return values


async def _holders(conn: AsyncConnection, entry: OutboundEntry) -> dict[str, str | None]:
    """The sources holding the entry's member (with its local id there) or organisations."""
    holders: dict[str, str | None] = {}
    if entry.member_key is not None:
        links = await conn.execute(select(SourceLinkRow.source, SourceLinkRow.local_id).where(
            SourceLinkRow.member_key == entry.member_key, SourceLinkRow.entity == "member"))
        for source, local_id in links.all():
            holders.setdefault(source, local_id)
    if entry.organizations:
        orgs = await conn.execute(select(OrganizationRow.sources).where(
            OrganizationRow.org_id.in_(list(entry.organizations))))
        for (provenance,) in orgs.all():
            for item in provenance or []:
                if isinstance(item, dict) and item.get("system"):
                    holders.setdefault(str(item["system"]), None)
    return holders


async def enqueue(conn: AsyncConnection, entry: OutboundEntry, writers: Writers, *,
                  now: datetime | None = None) -> list[int]:
    """Write the entry's delivery rows on `conn` (the entry's own transaction); returns the
    ids of the pending ones. Sources no longer configured are skipped: nothing can deliver
    there, and the hub cannot speak for a system it does not know."""
    now = now or utcnow()
    key = f"yanxing-{uuid.uuid4().hex}"
    rows: list[dict[str, Any]] = []
    for source, local_id in sorted((await _holders(conn, entry)).items()):
        if source not in writers:
            continue
        actions = writers[source]
        if entry.action in actions:
            state, reason = DeliveryState.PENDING, None
        elif not actions:
            state = DeliveryState.NOT_APPLICABLE
            reason = "this system cannot take writes: the entry stays in the hub's ledger only"
        else:
            state = DeliveryState.NOT_APPLICABLE
            reason = (f"this system's mapping has no [write.{entry.action}]: the entry stays in "
                      "the hub's ledger only")
        rows.append({
            "entry_id": entry.id, "action": entry.action, "source": source,
            "idempotency_key": key, "values": _values(entry, key, local_id), "state": state,
            "reason": reason, "attempts": 0,
            "next_attempt_at": now if state == DeliveryState.PENDING else None,
            "created_at": now,
        })
    if not rows:
        return []
    await conn.execute(insert(DeliveryRow), rows)
    pending = await conn.execute(select(DeliveryRow.id).where(
        DeliveryRow.entry_id == entry.id, DeliveryRow.state == DeliveryState.PENDING))
    return [i for (i,) in pending.all()]


def delivery_effect(
    writers: Writers | Callable[[], Writers], *, notify: Callable[[], None] | None = None,
) -> Callable[[AsyncConnection, Any], Awaitable[None]]:
    """An `Effect` for `hub.exchange.ledger.append`: enqueue the entry's deliveries in its
    transaction. `notify` (the worker's `wake`) is called once rows are queued, so the worker
    tries them at once instead of at its next poll (if the transaction then rolls back, the
    worker simply finds nothing)."""

    async def effect(conn: AsyncConnection, entry: Any) -> None:
        current = writers() if callable(writers) else writers
        if await enqueue(conn, entry, current) and notify is not None:
            notify()

    return effect


# ---- reading ---------------------------------------------------------------------------------


async def deliveries_of(sessions: async_sessionmaker[AsyncSession],
                        entry_ids: Sequence[int]) -> dict[int, list[Delivery]]:
    """entry id -> its deliveries (by source), for a batch of entries (one query)."""
    out: dict[int, list[Delivery]] = {i: [] for i in entry_ids}
    if not entry_ids:
        return out
    async with sessions() as session:
        rows = await session.scalars(select(DeliveryRow).where(
            DeliveryRow.entry_id.in_(list(entry_ids))).order_by(DeliveryRow.source))
        for row in rows:
            out[row.entry_id].append(Delivery.from_row(row))
    return out


async def list_deliveries(sessions: async_sessionmaker[AsyncSession], *,
                          states: Iterable[str] = (), source: str | None = None,
                          limit: int = 100) -> list[Delivery]:
    """The newest deliveries first, optionally of some states or one source."""
    query = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit)
    wanted = list(states)
    if wanted:
        query = query.where(DeliveryRow.state.in_(wanted))
    if source is not None:
        query = query.where(DeliveryRow.source == source)
    async with sessions() as session:
        return [Delivery.from_row(r) for r in await session.scalars(query)]


async def depth(sessions: async_sessionmaker[AsyncSession]) -> dict[tuple[str, str], int]:
    """(source, state) -> rows, for the pending and failed rows (the outbox's depth)."""
    async with sessions() as session:
        rows = await session.execute(
            select(DeliveryRow.source, DeliveryRow.state, func.count()).where(
                DeliveryRow.state.in_([DeliveryState.PENDING, DeliveryState.FAILED])
            ).group_by(DeliveryRow.source, DeliveryRow.state))
        return {(s, st): int(n) for s, st, n in rows.all()}


async def retry_delivery(sessions: async_sessionmaker[AsyncSession], delivery_id: int, *,
                         now: datetime | None = None) -> tuple[Delivery | None, bool]:
    """Queue a failed delivery again (attempts start over; its last error stays until the
    next attempt). Returns the row (None when there is none) and whether it was queued: a
    delivered, pending or not-applicable row is left as it is (a delivered one is never sent
    again)."""
    now = now or utcnow()
    async with sessions.begin() as session:
        result = await session.execute(update(DeliveryRow).where(
            DeliveryRow.id == delivery_id, DeliveryRow.state == DeliveryState.FAILED,
        ).values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=now,
                 lease_owner=None, lease_until=None))
        row = await session.get(DeliveryRow, delivery_id)
        queued = result.rowcount == 1  # type: ignore[attr-defined]
        return (Delivery.from_row(row) if row is not None else None), queued


# ---- delivering ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    source: str
    action: str
    idempotency_key: str
    values: Mapping[str, Any]
    attempts: int


def _public_error(exc: ConnectorError) -> str:
    """What a delivery row keeps of an error: the connector's public detail (written to name
    no record and no value), else its message (a write's messages name the request and the
    failure, never a value); digits masked either way."""
    detail = getattr(exc, "public_detail", None)
    if detail:
        return scrub(str(detail))
    source = getattr(exc, "source", None)
    text = str(exc)
    if source and text.startswith(f"{source}: "):
        text = text[len(source) + 2:]
    return scrub(text)


class DeliveryWorker:
    """Delivers due outbox rows; `run()` until cancelled, or `deliver_due()` once."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], registry: SourceRegistry,
                 config: OutboxConfig | None = None, *, seed: int | None = None) -> None:
        self.sessions = sessions
        self.registry = registry
        self.config = config or OutboxConfig()
        self.owner = uuid.uuid4().hex
        self._rng = random.Random(seed)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def postgres(self) -> bool:
        bind = self.sessions.kw.get("bind")
        return bind is not None and bind.dialect.name == "postgresql"

    def wake(self) -> None:
        """Deliver now rather than at the next poll (called when rows were queued)."""
        self._wake.set()

    def effect(self) -> Callable[[AsyncConnection, Any], Awaitable[None]]:
        """The ledger `Effect` queueing an entry's deliveries to this worker's sources."""
        return delivery_effect(lambda: writers_of(self.registry), notify=self.wake)

    @property
    def can_deliver(self) -> bool:
        """Whether any configured source takes any writes (else no row is ever pending, and
        the worker need not run)."""
        return any(writers_of(self.registry).values())

    # -- claiming ---------------------------------------------------------------------------

    async def _claim(self, now: datetime, due_by: datetime) -> list[_Claimed]:
        """Take up to `batch` due rows under a lease. PostgreSQL: the candidates are locked
        with SKIP LOCKED, so concurrent claimers take disjoint rows; SQLite (one writer at a
        time): each row is taken by a conditional UPDATE that only one claimer can win."""
        cfg = self.config
        until = now + timedelta(seconds=cfg.lease_seconds)
        due = (DeliveryRow.state == DeliveryState.PENDING) & (
            DeliveryRow.next_attempt_at <= due_by) & or_(
            DeliveryRow.lease_until.is_(None), DeliveryRow.lease_until < now)
        claimed: list[_Claimed] = []
        async with self.sessions.begin() as session:
            query = select(DeliveryRow.id).where(due).order_by(
                DeliveryRow.next_attempt_at, DeliveryRow.id).limit(cfg.batch)
            if self.postgres:
                query = query.with_for_update(skip_locked=True)
            ids = [i for (i,) in (await session.execute(query)).all()]
            for row_id in ids:
                result = await session.execute(
                    update(DeliveryRow).where(DeliveryRow.id == row_id, due).values(
                        lease_owner=self.owner, lease_until=until))
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another process took it between our SELECT and UPDATE
                row = await session.get(DeliveryRow, row_id)
                assert row is not None
                claimed.append(_Claimed(row.id, row.source, row.action, row.idempotency_key,
                                        dict(row.values), row.attempts))
        return claimed

    # -- one attempt ------------------------------------------------------------------------

    async def _attempt(self, item: _Claimed) -> None:
        entry = self.registry.get(item.source)
        attempts = item.attempts + 1
        outcome: dict[str, Any]
        if entry is None:
            outcome = {"state": DeliveryState.FAILED, "last_error_code": "NOT_CONFIGURED",
                       "last_error": "no source of this name is configured any more"}
        else:
            request = WriteRequest(item.action, item.idempotency_key, item.values)
            try:
                result = await entry.connector.write(request)
            except SourceUnavailable as exc:
                outcome = self._retry_or_fail(exc, attempts, utcnow())
            except ConnectorError as exc:
                outcome = {"state": DeliveryState.FAILED, "last_error_code": exc.code,
                           "last_error": _public_error(exc)}
            except Exception as exc:  # a connector bug must not kill the worker
                log.exception("outbox: delivery %s to %s raised", item.id, item.source)
                outcome = self._retry_or_fail(exc, attempts, utcnow())
            else:
                outcome = {"state": DeliveryState.DELIVERED, "delivered_at": utcnow(),
                           "remote_id": result.remote_id, "last_error_code": None,
                           "last_error": None}
        async with self.sessions.begin() as session:
            await session.execute(update(DeliveryRow).where(
                DeliveryRow.id == item.id, DeliveryRow.lease_owner == self.owner,
            ).values(attempts=attempts, lease_owner=None, lease_until=None, **outcome))

    def _retry_or_fail(self, exc: Exception, attempts: int, now: datetime) -> dict[str, Any]:
        """The backoff runs from `now`, when the attempt ended (a slow failure must not make
        the next attempt due at once)."""
        if isinstance(exc, ConnectorError):
            code, text = exc.code, _public_error(exc)
        else:
            code, text = "INTERNAL_ERROR", type(exc).__name__
        if attempts >= self.config.max_attempts:
            return {"state": DeliveryState.FAILED, "last_error_code": code,
                    "last_error": f"{text} (gave up after {attempts} attempts)"}
        delay = self.config.backoff(attempts, self._rng)
        return {"state": DeliveryState.PENDING, "last_error_code": code, "last_error": text,
                "next_attempt_at": now + timedelta(seconds=delay)}

    # -- loops ------------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Claim and attempt every row due when the pass began (batch after batch); a row
        retried during the pass waits for its backoff, i.e. a later pass. Returns how many
        were tried."""
        tried = 0
        started = utcnow()
        while True:
            claimed = await self._claim(utcnow(), started)
            if not claimed:
                return tried
            await asyncio.gather(*(self._attempt(item) for item in claimed))
            tried += len(claimed)

    async def run(self) -> None:
        """Deliver until cancelled: after each pass, wait for `wake()` or `poll_seconds`. A
        database error is logged and the loop goes on (the rows stay in the table)."""
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox: a delivery pass failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.poll_seconds)

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="outbox")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
