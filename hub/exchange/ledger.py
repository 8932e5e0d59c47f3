"""The exchange ledger: one append-only table of every workflow action, each audited.

An entry says who (party, official, purpose) did what (action, typed payload) about whom
(member key, never an ID number) at which organisations, under which contracts (digests),
when, and how it relates to earlier entries: `answers` (a claim answers a task, a
confirmation answers a report) and `supersedes` (a correction replaces an entry; the old
one stays, nothing is ever edited or deleted).

`append` writes the entry and its audit decision in one transaction
(`AuditLog.append_within`), so an entry never exists without its audit entry. Idempotency:
an entry may carry a key unique per party; `append` with a key already used returns the
stored entry when the request digest (action, member, organisations, payload, answers,
supersedes) is the same (`Appended.replayed`), and raises `IdempotencyConflict` when it is
not. Concurrent duplicates meet the unique constraint: the loser's IntegrityError is caught
and the winner's entry returned.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from hub.audit.log import AuditEvent, AuditLog
from hub.canonical_json import canonical
from hub.clock import as_utc, utcnow
from hub.errors import AccessDenied
from hub.exchange.errors import IdempotencyConflict, PayloadInvalid
from hub.exchange.payloads import Payload, payload_from_json
from hub.store.base import Base

__all__ = ["ExchangeEntryRow", "Entry", "Draft", "Appended", "Effect", "append", "current",
           "entry_by_id", "entries_of_member", "request_digest", "MAX_IDEMPOTENCY_KEY"]

#: longest idempotency key accepted (a UUID is 36)
MAX_IDEMPOTENCY_KEY = 128


class ExchangeEntryRow(Base):
    __tablename__ = "exchange_entries"
    __table_args__ = (UniqueConstraint("party", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    member_key: Mapped[str | None] = mapped_column(String(64), index=True)
    #: the organisation the action was recorded at (the acting party's own or a named one)
    organization: Mapped[str] = mapped_column(String(64), index=True)
    #: every organisation concerned, the recording one first: a JSON list of codes
    organizations: Mapped[str] = mapped_column(Text)
    party: Mapped[str] = mapped_column(String(64), index=True)
    official: Mapped[str | None] = mapped_column(String(128))
    purpose: Mapped[str | None] = mapped_column(String(128))
    #: space-separated digests of the contracts that granted the permission
    contracts: Mapped[str] = mapped_column(Text)
    #: the typed payload as RFC 8785 canonical JSON
    payload: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    idempotency_key: Mapped[str | None] = mapped_column(String(MAX_IDEMPOTENCY_KEY))
    request_digest: Mapped[str] = mapped_column(String(64))
    answers: Mapped[int | None] = mapped_column(ForeignKey("exchange_entries.id"), index=True)
    supersedes: Mapped[int | None] = mapped_column(ForeignKey("exchange_entries.id"),
                                                   index=True)


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger entry as stored (the payload typed again)."""

    id: int
    action: str
    member_key: str | None
    organizations: tuple[str, ...]
    party: str
    official: str | None
    purpose: str | None
    contracts: tuple[str, ...]
    payload: Payload
    recorded_at: datetime
    idempotency_key: str | None
    request_digest: str
    answers: int | None
    supersedes: int | None

    @property
    def organization(self) -> str:
        """Where it was recorded (the first organisation)."""
        return self.organizations[0]

    @classmethod
    def from_row(cls, row: Any) -> Entry:
        return cls(
            id=row.id, action=row.action, member_key=row.member_key,
            organizations=tuple(json.loads(row.organizations)), party=row.party,
            official=row.official, purpose=row.purpose, contracts=tuple(row.contracts.split()),
            payload=payload_from_json(row.action, json.loads(row.payload)),
            recorded_at=as_utc(row.recorded_at) or row.recorded_at,
            idempotency_key=row.idempotency_key,
            request_digest=row.request_digest, answers=row.answers, supersedes=row.supersedes,
        )


#: a workflow's change to the index made in the entry's transaction (e.g. a check-in links
#: the member to its destination branch); it sees the entry with its id
Effect = Callable[[AsyncConnection, Entry], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Draft:
    """An entry about to be appended: everything but its id and time."""

    payload: Payload
    organizations: tuple[str, ...]
    party: str
    member_key: str | None = None
    official: str | None = None
    purpose: str | None = None
    contracts: tuple[str, ...] = ()
    idempotency_key: str | None = None
    answers: int | None = None
    supersedes: int | None = None
    effects: tuple[Effect, ...] = field(default=())

    @property
    def action(self) -> str:
        return self.payload.action

    def digest(self) -> str:
        return request_digest(self.action, self.member_key, self.organizations,
                              self.payload, self.answers, self.supersedes)


def request_digest(action: str, member_key: str | None, organizations: Sequence[str],
                   payload: Payload, answers: int | None, supersedes: int | None) -> str:
    """What makes two requests "the same input" for idempotency: everything the caller
    chose, nothing the hub adds (time, contracts, official)."""
    body = {"action": action, "member": member_key, "organizations": list(organizations),
            "payload": payload.to_json(), "answers": answers, "supersedes": supersedes}
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class Appended:
    entry: Entry
    #: True: the idempotency key had been used with this input; nothing new was written
    replayed: bool


async def _by_key(conn: AsyncConnection, party: str, key: str) -> Any:
    return (await conn.execute(select(ExchangeEntryRow).where(
        ExchangeEntryRow.party == party, ExchangeEntryRow.idempotency_key == key))).first()


def _replay(row: Any, draft: Draft) -> Appended:
    if row.request_digest != draft.digest():
        raise IdempotencyConflict(
            f"idempotency key {draft.idempotency_key!r} was used for a different request "
            f"(entry {row.id}); retry with the same input, or use a new key for a new request")
    return Appended(Entry.from_row(row), replayed=True)


async def _check_supersedes(conn: AsyncConnection, draft: Draft) -> None:
    """A correction replaces the newest version of one of the party's own entries, of the
    same action and member."""
    old = (await conn.execute(select(ExchangeEntryRow).where(
        ExchangeEntryRow.id == draft.supersedes))).first()
    if old is None:
        raise PayloadInvalid("supersedes", f"no ledger entry {draft.supersedes}")
    if old.party != draft.party:
        raise AccessDenied(f"entry {old.id} was recorded by another party: only its recorder "
                           "corrects it")
    if old.action != draft.action or old.member_key != draft.member_key:
        raise PayloadInvalid("supersedes", f"entry {old.id} is a {old.action} about another "
                             "member or of another action: a correction keeps both")
    newer = (await conn.execute(select(ExchangeEntryRow.id).where(
        ExchangeEntryRow.supersedes == old.id))).first()
    if newer is not None:
        raise PayloadInvalid("supersedes", f"entry {old.id} was already corrected by entry "
                             f"{newer[0]}: correct that one")


def current(entries: Sequence[Entry]) -> list[Entry]:
    """`entries` without those another of them supersedes: the versions in force."""
    replaced = {e.supersedes for e in entries if e.supersedes is not None}
    return [e for e in entries if e.id not in replaced]


async def append(audit: AuditLog, draft: Draft,
                 event: Callable[[Entry], AuditEvent], *,
                 now: datetime | None = None) -> Appended:
    """Append `draft` (validated again here) and its audit decision `event(entry)` in one
    transaction, running the draft's effects inside it; or replay the entry its idempotency
    key names. The permission check is the caller's (hub.api.exchange's guard)."""
    draft.payload.validate()
    if draft.idempotency_key is not None and not 0 < len(draft.idempotency_key) <= \
            MAX_IDEMPOTENCY_KEY:
        raise PayloadInvalid("idempotencyKey", f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    if not draft.organizations:
        raise PayloadInvalid("organization", "is required")

    async def write(conn: AsyncConnection) -> tuple[Appended, AuditEvent | None]:
        if draft.idempotency_key is not None:
            seen = await _by_key(conn, draft.party, draft.idempotency_key)
            if seen is not None:
                return _replay(seen, draft), None
        if draft.answers is not None and (await conn.execute(select(ExchangeEntryRow.id).where(
                ExchangeEntryRow.id == draft.answers))).first() is None:
            raise PayloadInvalid("answers", f"no ledger entry {draft.answers}")
        if draft.supersedes is not None:
            await _check_supersedes(conn, draft)
        recorded_at = now or utcnow()
        digest = draft.digest()
        values: dict[str, Any] = {
            "action": draft.action, "member_key": draft.member_key,
            "organization": draft.organizations[0],
            "organizations": json.dumps(list(draft.organizations), ensure_ascii=False),
            "party": draft.party, "official": draft.official, "purpose": draft.purpose,
            "contracts": " ".join(draft.contracts),
            "payload": canonical(draft.payload.to_json()).decode(),
            "recorded_at": recorded_at, "idempotency_key": draft.idempotency_key,
            "request_digest": digest, "answers": draft.answers,
            "supersedes": draft.supersedes,
        }
        result = await conn.execute(insert(ExchangeEntryRow).values(**values))
        entry_id = result.inserted_primary_key[0]  # type: ignore[index]
        entry = Entry(
            id=entry_id, action=draft.action, member_key=draft.member_key,
            organizations=draft.organizations, party=draft.party, official=draft.official,
            purpose=draft.purpose, contracts=draft.contracts, payload=draft.payload,
            recorded_at=recorded_at, idempotency_key=draft.idempotency_key,
            request_digest=digest, answers=draft.answers,
            supersedes=draft.supersedes)
        for effect in draft.effects:
            await effect(conn, entry)
        return Appended(entry, replayed=False), event(entry)

    try:
        return await audit.append_within(write)
    except IntegrityError:
        # a concurrent duplicate (another process or connection) committed the key first
        if draft.idempotency_key is None:
            raise
        async with audit.sessions() as session:
            row = (await session.execute(select(ExchangeEntryRow).where(
                ExchangeEntryRow.party == draft.party,
                ExchangeEntryRow.idempotency_key == draft.idempotency_key))).first()
        if row is None:
            raise
        return _replay(row[0], draft)


async def entry_by_id(sessions: async_sessionmaker[AsyncSession], entry_id: int) -> Entry | None:
    async with sessions() as session:
        row = await session.get(ExchangeEntryRow, entry_id)
        return Entry.from_row(row) if row is not None else None


async def entries_of_member(sessions: async_sessionmaker[AsyncSession], member_key: str,
                            action: str | None = None) -> list[Entry]:
    """A member's entries, oldest first (optionally of one action); unscoped: the caller
    polices what it shows."""
    query = select(ExchangeEntryRow).where(ExchangeEntryRow.member_key == member_key)
    if action is not None:
        query = query.where(ExchangeEntryRow.action == action)
    async with sessions() as session:
        rows = await session.scalars(query.order_by(ExchangeEntryRow.id))
        return [Entry.from_row(r) for r in rows]
