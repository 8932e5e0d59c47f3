"""Where contracts and their state live: SQLite or PostgreSQL through SQLAlchemy async.

The table keeps the signed envelope as submitted (the evidence) and the state derived from it.
`active_contracts(now)` reads the state from the database on every call — there is no state
cache, so a revocation committed by one request is seen by the very next one. Only parsed
contract *texts* are memoised, by digest, which is safe because a digest names immutable bytes.

`contract_state` holds one counter row, bumped in the same transaction as every state change
(submit, activation, supersession, revocation), so a caller holding something derived from the
contracts (the API's cached policy, hub.contracts.trust) can revalidate it with one tiny
primary-key read (`state_version`), across processes sharing the database. Time-based changes
(a contract coming into force or expiring) need no write: see `next_transition`.

The tables are declared on the hub's one schema root (hub.store.base) and created by its
migrations (hub.store.migrations), which also seed the `contract_state` row.

Every signature of a stored envelope has the time the hub first saw it (`signers.first_seen`,
the hub's own clock): a later submit judges each stored signature at that time and each new one
at now, so a key revoked at T admits nothing first presented at or after T, whatever signing
time it claims (hub.contracts.lifecycle). Submits and revocations under a registry older than
the newest the hub accepted (`registry_state`, hub.contracts.registry_state) are refused.

The trust tables of the hub live here too: `registry_state` (the newest accepted registry:
downgrade guard and hot reload) and `seen_tokens` (the database replay cache,
hub.contracts.replay).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, Text, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from hub.canonical_json import strict_loads
from hub.clock import as_utc, format_time, parse_time, utcnow
from hub.contracts.lifecycle import (
    TERMINAL_STATES,
    ContractState,
    SignatureInfo,
    VerifiedContract,
    merge_signatures,
    signature_id,
    verify_contract,
    verify_revocation,
)
from hub.contracts.model import Contract, parse_contract
from hub.contracts.trust_registry import Registry, RegistryDowngrade
from hub.errors import ContractError, NotFound
from hub.jws import parse_general
from hub.store.base import Base
from hub.store.direct import compiled, fetch_rows, sqlite_of

__all__ = [
    "ContractRow",
    "ContractRecord",
    "ContractStateRow",
    "ContractStore",
    "RegistryStateRow",
    "SeenTokenRow",
    "StateWatch",
    "next_transition",
]


class ContractRow(Base):
    __tablename__ = "contracts"

    digest: Mapped[str] = mapped_column(String(71), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    #: party ids, space separated and padded (" a b "), so "party to" is a LIKE on any backend
    parties: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), index=True)
    envelope: Mapped[str] = mapped_column(Text)
    #: {"parties": {party: {kid, signed_at}}, "registrar": {...} | null} as verified at submit
    signers: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    superseded_by: Mapped[str | None] = mapped_column(String(71))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revocation: Mapped[str | None] = mapped_column(Text)


class ContractStateRow(Base):
    """One row (id 1): a counter bumped by every transaction that changes contract state."""

    __tablename__ = "contract_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)


class RegistryStateRow(Base):
    """One row (id 1): the newest trust registry the hub accepted, as signed. Its version only
    grows (hub.contracts.registry_state): an older registry is refused at start, and every hub
    process on the database loads a newer one on its next request."""

    __tablename__ = "registry_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    #: the signed registry envelope (JSON), verified again by every process that loads it
    envelope: Mapped[str] = mapped_column(Text)
    accepted_at: Mapped[datetime]


class SeenTokenRow(Base):
    """A request token already used (the database replay cache): sha256 of issuer and jti,
    kept until the token expires."""

    __tablename__ = "seen_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


async def _bump_state_version(session: AsyncSession) -> None:
    """Part of every state-changing transaction (never a separate one)."""
    result = await session.execute(
        update(ContractStateRow).where(ContractStateRow.id == 1)
        .values(version=ContractStateRow.version + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(insert(ContractStateRow).values(id=1, version=1))


_VERSION = select(ContractStateRow.version).where(ContractStateRow.id == 1)
_REGISTRY_VERSION = select(RegistryStateRow.version).where(RegistryStateRow.id == 1)
_VERSIONS = select(_VERSION.scalar_subquery(), _REGISTRY_VERSION.scalar_subquery())


async def _check_registry_version(session: AsyncSession, registry: Registry) -> None:
    """Refuse to decide with a registry older than the newest the hub accepted (it could
    bring a revoked key back)."""
    newest = await session.scalar(_REGISTRY_VERSION)
    if newest is not None and registry.version < newest:
        raise RegistryDowngrade(
            f"trust registry version {registry.version} is older than version {newest}, "
            "which this hub has accepted: use the newest registry"
        )


class StateWatch:
    """Reads the contract-state version and the newest registry version in one round trip,
    over one held autocommit connection: no pool checkout, no transaction and no ORM per read
    (~0.2 ms on SQLite instead of ~0.7 ms through a session). A failed connection is dropped
    and reopened once. Close it with the app (`close`).

    Freshness: a call sees every change committed before the call began. A call while no read
    runs reads at once, in its own task. Concurrent calls share reads without weakening that:
    a call joins the next read to *start* (never one already running, which may have begun
    before the change), so under load one read answers every request that arrived while the
    previous read ran, instead of each request queueing for a read of its own (with one
    connection, reads are serialised: at 32 concurrent requests that queue was where requests
    waited)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        #: the read that starts once the running one ends; calls arriving now join it
        self._next: asyncio.Future[tuple[int | None, int | None]] | None = None
        self._reader: asyncio.Task[None] | None = None
        #: a call is reading in its own task (`_read_inline`)
        self._inline = False

    async def version(self) -> int | None:
        """The contract-state counter."""
        return (await self.versions())[0]

    async def versions(self) -> tuple[int | None, int | None]:
        """(contract-state counter, newest registry version) in one round trip: what a
        request needs checked before it is authenticated."""
        if not self._inline and (self._reader is None or self._reader.done()):
            return await self._read_inline()
        # a read is running (the reader task's, which takes the next read too, or an inline
        # one, which starts the reader task when it ends)
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        joined = self._next
        # shield: a cancelled request must not cancel the read other requests wait for
        return await asyncio.shield(joined)

    async def _read_inline(self) -> tuple[int | None, int | None]:
        """No read running: this call reads in its own task, without a reader task, a shared
        future and a shield (three event-loop turns a request when requests come one at a
        time). Calls arriving meanwhile join the next read, started when this one ends
        (however it ends: a cancelled caller still hands over)."""
        self._inline = True
        try:
            row = await self._read()
        finally:
            self._inline = False
            if self._next is not None:
                self._reader = asyncio.ensure_future(self._read_while_asked())
        return (row[0], row[1]) if row is not None else (None, None)

    async def _read_while_asked(self) -> None:
        while self._next is not None:
            answer, self._next = self._next, None
            try:
                row = await self._read()
            except Exception as exc:
                answer.set_exception(exc)
                answer.exception()  # retrieved here: callers that left must not warn
                continue
            answer.set_result((row[0], row[1]) if row is not None else (None, None))

    async def _read(self) -> Any:
        statement = _VERSIONS
        for attempt in (1, 2):
            if self._conn is None:
                conn = await self._engine.connect()
                self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            try:
                driver = sqlite_of(self._conn)
                if driver is None:
                    return (await self._conn.execute(statement)).first()
                rows = await fetch_rows(driver, compiled(statement, self._engine.dialect))
                return rows[0] if rows else None
            except DBAPIError:
                await self._drop()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
            finally:
                await conn.close()

    async def close(self) -> None:
        if self._reader is not None and not self._reader.done():
            await asyncio.wait([self._reader])
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


def next_transition(contracts: Iterable[Contract], now: datetime) -> datetime | None:
    """The earliest time after `now` at which one of `contracts` (active by state) comes into
    force or stops being in force: until then `in_force` answers as it does at `now`."""
    times = [t for c in contracts for t in (c.not_before, c.not_after) if t > now]
    return min(times, default=None)


@dataclass(frozen=True, slots=True)
class ContractRecord:
    """A stored contract as a party sees it: text, state at `now`, who signed and when."""

    contract: Contract
    state: ContractState
    signatures: Mapping[str, SignatureInfo]
    registrar: SignatureInfo | None
    envelope: Mapping[str, Any]
    superseded_by: str | None
    revoked_by: str | None
    revoked_at: datetime | None

    @property
    def digest(self) -> str:
        return self.contract.digest


class ContractStore:
    """Submit, revoke and query contracts. One instance per app; sessions per call."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._texts: dict[str, Contract] = {}

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The sessions on the hub's database (the trust tables beside the contracts)."""
        return self._sessions

    # -------------------------------------------------------------- writes

    async def submit(
        self, envelope: Mapping[str, Any], registry: Registry, *, now: datetime | None = None
    ) -> ContractRecord:
        """Store a (partially) signed envelope, merging signatures with what is already
        stored; activate it when every party and the registrar have signed."""
        now = now or utcnow()
        # refuse bad input before touching rows (claimed times only: the check below decides)
        verify_contract(envelope, registry, now=now, first_seen=None)
        async with self._sessions.begin() as session:
            await _check_registry_version(session, registry)
            digest = parse_contract(parse_general(envelope).payload).digest
            row = await session.get(ContractRow, digest, with_for_update=True)
            first_seen: dict[str, datetime] = {}
            if row is not None:
                state = ContractState(row.state)
                if state in TERMINAL_STATES:
                    raise ContractError(
                        f"contract {row.contract_id!r} is {state.value}: terminal states are "
                        "final; propose a new version instead"
                    )
                first_seen = _first_seen(row)
                envelope = merge_signatures(json.loads(row.envelope), envelope)
            verified = verify_contract(envelope, registry, now=now, first_seen=first_seen)
            contract = verified.contract
            if now >= contract.not_after:
                raise ContractError(
                    f"contract {contract.id!r} expired at its not_after: nothing to submit"
                )
            state = verified.signing_state
            if state is ContractState.ACTIVE:
                await self._activate(session, contract, now)
            if row is None:
                row = ContractRow(
                    digest=digest, contract_id=contract.id, version=contract.version,
                    title=contract.title, parties=" " + " ".join(sorted(contract.parties)) + " ",
                    submitted_at=now,
                )
                session.add(row)
            row.envelope = json.dumps(envelope, ensure_ascii=False)
            row.signers = _signers_json(verified, {
                signature_id(e): first_seen.get(signature_id(e), now)
                for e in parse_general(envelope).signatures})
            row.state = state.value
            row.updated_at = now
            await _bump_state_version(session)
        return self._record(row, now)

    async def _activate(self, session: AsyncSession, contract: Contract, now: datetime) -> None:
        """Enforce one active version per contract id; supersede the predecessor."""
        others = (
            await session.scalars(
                select(ContractRow).where(
                    ContractRow.contract_id == contract.id,
                    ContractRow.state == ContractState.ACTIVE.value,
                    ContractRow.digest != contract.digest,
                )
            )
        ).all()
        for other in others:
            if other.digest != contract.supersedes:
                raise ContractError(
                    f"contract {contract.id!r} version {other.version} is active; version "
                    f"{contract.version} must name it in 'supersedes' ({other.digest})"
                )
            if other.version >= contract.version:
                raise ContractError(
                    f"version {contract.version} cannot supersede version {other.version}"
                )
            other.state = ContractState.SUPERSEDED.value
            other.superseded_by = contract.digest
            other.updated_at = now

    async def revoke(
        self, revocation: Mapping[str, Any], registry: Registry, *, now: datetime | None = None
    ) -> ContractRecord:
        """Apply a revocation signed by one party. Effective at once: the next
        `active_contracts` call no longer returns the contract."""
        now = now or utcnow()
        digest = parse_general(revocation).payload.get("contract")
        async with self._sessions.begin() as session:
            await _check_registry_version(session, registry)
            row = await session.get(ContractRow, str(digest), with_for_update=True)
            if row is None:
                raise NotFound(f"no contract with digest {digest!r}")
            contract = self._parse(row)
            state = self._state(row, contract, now)
            if state in TERMINAL_STATES:
                raise ContractError(
                    f"contract {contract.id!r} is already {state.value}: terminal states are final"
                )
            verified = verify_revocation(revocation, registry, contract, now=now)
            row.state = ContractState.REVOKED.value
            row.revoked_at = verified.effective_at
            row.revoked_by = verified.party
            row.revocation = json.dumps(revocation)
            row.updated_at = now
            await _bump_state_version(session)
        return self._record(row, now)

    # -------------------------------------------------------------- reads

    async def active_contracts(self, now: datetime | None = None) -> list[Contract]:
        """Contracts in force at `now`, read from the database on every call (no stale state)."""
        now = now or utcnow()
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(ContractRow).where(ContractRow.state == ContractState.ACTIVE.value)
                    .order_by(ContractRow.contract_id)
                )
            ).all()
        contracts = [self._parse(row) for row in rows]
        return [c for c in contracts if c.in_force(now)]

    async def state_version(self) -> int | None:
        """The contract-state counter (None when the row is missing: then cache nothing)."""
        async with self._sessions() as session:
            return await session.scalar(_VERSION)

    async def versions(self) -> tuple[int | None, int | None]:
        """(contract-state counter, newest registry version), as `StateWatch.versions`."""
        async with self._sessions() as session:
            row = (await session.execute(_VERSIONS)).first()
        return (row[0], row[1]) if row is not None else (None, None)

    async def active_state(self) -> tuple[int | None, list[Contract]]:
        """(state version, every contract whose stored state is active, in force or not).
        The version is read first: a change committed in between makes the pair look older
        than it is (a needless rebuild later), never newer."""
        async with self._sessions() as session:
            version = await session.scalar(_VERSION)
            rows = (
                await session.scalars(
                    select(ContractRow).where(ContractRow.state == ContractState.ACTIVE.value)
                    .order_by(ContractRow.contract_id)
                )
            ).all()
        return version, [self._parse(row) for row in rows]

    async def get(self, digest: str, *, now: datetime | None = None) -> ContractRecord:
        async with self._sessions() as session:
            row = await session.get(ContractRow, digest)
        if row is None:
            raise NotFound(f"no contract with digest {digest!r}")
        return self._record(row, now or utcnow())

    async def all(self, *, now: datetime | None = None) -> list[ContractRecord]:
        """Every stored contract (the operator's view)."""
        async with self._sessions() as session:
            rows = (await session.scalars(
                select(ContractRow).order_by(ContractRow.contract_id, ContractRow.version)
            )).all()
        return [self._record(row, now or utcnow()) for row in rows]

    async def for_party(self, party: str, *, now: datetime | None = None) -> list[ContractRecord]:
        """Every contract `party` is party to, any state (what GraphQL `contracts` lists)."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(ContractRow)
                    .where(ContractRow.parties.contains(f" {party} ", autoescape=True))
                    .order_by(ContractRow.contract_id, ContractRow.version)
                )
            ).all()
        records = [self._record(row, now or utcnow()) for row in rows]
        # the LIKE only narrows; membership is decided on the contract itself
        return [r for r in records if party in r.contract.parties]

    # -------------------------------------------------------------- internals

    def _parse(self, row: ContractRow) -> Contract:
        contract = self._texts.get(row.digest)
        if contract is None:
            contract = parse_contract(parse_general(strict_loads(row.envelope)).payload)
            if contract.digest != row.digest:
                raise ContractError(f"stored contract {row.digest} does not match its digest")
            self._texts[row.digest] = contract
        return contract

    @staticmethod
    def _state(row: ContractRow, contract: Contract, now: datetime) -> ContractState:
        state = ContractState(row.state)
        if state not in TERMINAL_STATES and now >= contract.not_after:
            return ContractState.EXPIRED
        return state

    def _record(self, row: ContractRow, now: datetime) -> ContractRecord:
        contract = self._parse(row)
        envelope = json.loads(row.envelope)
        sigs = _signers(row.signers)
        return ContractRecord(
            contract=contract,
            state=self._state(row, contract, now),
            signatures=sigs[0],
            registrar=sigs[1],
            envelope=envelope,
            superseded_by=row.superseded_by,
            revoked_by=row.revoked_by,
            revoked_at=as_utc(row.revoked_at),
        )



def _signers_json(verified: VerifiedContract, first_seen: Mapping[str, datetime]) -> str:
    """Who signed, recorded at submit time (when the registry vouched for each kid), so the
    record stays readable after keys rotate out of the registry; and when the hub first saw
    each signature (`first_seen`, by signature id), which later submits judge them at."""
    doc: dict[str, Any] = {
        "first_seen": {sig: format_time(at) for sig, at in sorted(first_seen.items())},
        "parties": {p: {"kid": i.kid, "signed_at": format_time(i.signed_at)}
                    for p, i in verified.signatures.items()},
        "registrar": None if verified.registrar is None else {
            "party": verified.registrar.party, "kid": verified.registrar.kid,
            "signed_at": format_time(verified.registrar.signed_at)},
    }
    return json.dumps(doc, sort_keys=True)


def _first_seen(row: ContractRow) -> dict[str, datetime]:
    """When the hub first saw each signature of the stored envelope. Rows stored before the
    hub kept this record count every stored signature as seen at the row's last update (the
    latest time the hub can vouch for: never earlier than the truth)."""
    doc = json.loads(row.signers)
    if "first_seen" in doc:
        return {sig: parse_time(at) for sig, at in doc["first_seen"].items()}
    updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
    return {signature_id(e): updated
            for e in parse_general(strict_loads(row.envelope)).signatures}


def _signers(text: str) -> tuple[dict[str, SignatureInfo], SignatureInfo | None]:
    doc = json.loads(text)
    parties = {p: SignatureInfo(p, i["kid"], parse_time(i["signed_at"]))
               for p, i in doc["parties"].items()}
    r = doc["registrar"]
    registrar = None if r is None else SignatureInfo(r["party"], r["kid"],
                                                     parse_time(r["signed_at"]))
    return parties, registrar
