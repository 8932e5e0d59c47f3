"""Append-only, hash-chained audit log of every access decision, with hub-signed checkpoints.

Each entry records who asked (party, user, purpose), under which contracts (digests), what
(operation hash, member keys, fields allowed and denied) and the decision — never raw personal
data: member keys are the hub's keyed hashes (exactly 64 hex digits, so an ID number cannot slip
in), user and purpose are ids (hub.audit.privacy), and the operation is hashed without its
variables and literals. Requests refused before any access decision (a rejected token, a
malformed or invalid document, a limit) are `rejected` entries with a `reason` and the client's
network (hub.audit.rejections rate-limits them per network).

Everything `accessLog` shows comes from the hashed body: `audit_members` (member key -> seq)
and the `party` column are only lookup indexes, and `verify_log` checks them against the
bodies, so deleting an index row to hide an access is detected.

Tamper evidence: `entry_hash = sha256(prev_hash || RFC 8785(entry))`, so editing, deleting,
reordering or inserting an entry breaks the chain; someone who rewrites the chain from that
point on is caught by the checkpoints, which the hub signs over (size, head hash). Each
checkpoint is also appended to the anchor file outside the database (hub.audit.anchor) and
served as `auditHead`, so deleting the checkpoints with the entries is caught too. Entries
appended after the last checkpoint are protected only by the chain: checkpoint often
(`checkpoint_every`) and on shutdown.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import json
import re
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ForeignKey, Integer, String, Text, false, func, insert, select, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.audit.anchor import CHECKPOINT_TYPE, SignedCheckpoint, append_anchor
from hub.audit.privacy import SAFE_PURPOSE, SAFE_USER, operation_hash, unsafe_id_reason
from hub.canonical_json import canonical
from hub.clock import format_time, parse_time, utcnow
from hub.errors import AccessDenied, ContractError
from hub.jws import sign_compact
from hub.store.base import Base
from hub.store.direct import DirectStatement, compiled, run_in_sqlite, sqlite_of

__all__ = [
    "AuditEntryRow",
    "AuditMemberRow",
    "AuditCheckpointRow",
    "Decision",
    "AuditEvent",
    "AuditEntry",
    "AuditLog",
    "GENESIS",
    "CHECKPOINT_TYPE",
    "operation_hash",
    "entry_hash",
]

GENESIS = "0" * 64
_MEMBER_KEY = re.compile(r"^[0-9a-f]{64}$")


class AuditEntryRow(Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: the entry as hashed: RFC 8785 JSON text (time, party, ... decision)
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    party: Mapped[str | None] = mapped_column(String(64), index=True)


class AuditMemberRow(Base):
    """Lookup index member key -> entries (for `access_log`); the chained body is the truth."""

    __tablename__ = "audit_members"

    seq: Mapped[int] = mapped_column(ForeignKey("audit_entries.seq"), primary_key=True)
    member_key: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


#: built once: a statement made anew per write is keyed for SQLAlchemy's compiled cache anew
_INSERT_ENTRIES = insert(AuditEntryRow)
_INSERT_MEMBERS = insert(AuditMemberRow)


class AuditCheckpointRow(Base):
    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed: Mapped[str] = mapped_column(Text)  # compact JWS by the hub key


class Decision(enum.StrEnum):
    ALLOWED = "allowed"
    PARTIAL = "partial"   # some fields nulled or some members hidden
    DENIED = "denied"     # refused by the contract policy
    #: refused before any access decision: bad token, malformed or invalid request, a limit
    REJECTED = "rejected"


def _recordable_id(value: str | None, pattern: re.Pattern[str]) -> str | None:
    """`value` if it is a safe id, else its hash: a last line of defence (the API refuses
    such tokens before anything is recorded)."""
    if value is None or unsafe_id_reason("id", value, pattern) is None:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: datetime
    party: str | None
    user: str | None
    purpose: str | None
    decision: Decision
    operation_hash: str
    contract_digests: Sequence[str] = ()
    member_keys: Sequence[str] = ()
    fields_allowed: Sequence[str] = ()   # "Member.employer"
    fields_denied: Sequence[str] = ()
    #: why a `rejected` (or denied) request was refused: a stable slug
    reason: str | None = None
    #: the client's network for a rejected request (never the full address)
    source: str | None = None
    #: a summary entry: this many more rejections from `source` were not logged one by one
    suppressed: int | None = None
    #: the exchange ledger entry this decision wrote (hub.exchange), and its action
    entry: int | None = None
    action: str | None = None

    def body(self) -> dict[str, Any]:
        bad = [k for k in self.member_keys if not _MEMBER_KEY.match(k)]
        if bad:
            raise ContractError(
                "audit member keys must be the hub's 64-hex member keys, never raw identifiers"
            )
        body: dict[str, Any] = {
            "at": format_time(self.at),
            "party": self.party,
            "user": _recordable_id(self.user, SAFE_USER),
            "purpose": _recordable_id(self.purpose, SAFE_PURPOSE),
            "decision": Decision(self.decision).value,
            "operation": self.operation_hash,
            "contracts": sorted(set(self.contract_digests)),
            "members": sorted(set(self.member_keys)),
            "allowed": sorted(set(self.fields_allowed)),
            "denied": sorted(set(self.fields_denied)),
        }
        # only when set, so an ordinary entry's body (and hash) is as it always was
        for key, value in (("reason", self.reason), ("source", self.source),
                           ("suppressed", self.suppressed), ("entry", self.entry),
                           ("action", self.action)):
            if value is not None:
                body[key] = value
        return body


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    party: str | None
    user: str | None
    purpose: str | None
    decision: Decision
    contract_digests: tuple[str, ...]
    member_keys: tuple[str, ...]
    fields_allowed: tuple[str, ...]
    fields_denied: tuple[str, ...]
    entry_hash: str = field(repr=False)
    reason: str | None = None
    source: str | None = None
    suppressed: int | None = None
    entry: int | None = None
    action: str | None = None

    @classmethod
    def from_row(cls, row: AuditEntryRow) -> AuditEntry:
        """Everything from the hashed body (never from the index columns)."""
        b = json.loads(row.body)
        return cls(row.seq, parse_time(b["at"]), b["party"], b["user"], b["purpose"],
                   Decision(b["decision"]), tuple(b["contracts"]), tuple(b["members"]),
                   tuple(b["allowed"]), tuple(b["denied"]), row.entry_hash,
                   b.get("reason"), b.get("source"), b.get("suppressed"), b.get("entry"),
                   b.get("action"))


def entry_hash(prev_hash: str, seq: int, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{body}".encode()).hexdigest()


class _ChainMoved(Exception):
    """Another writer took the sequence numbers a transaction chained on."""


T = TypeVar("T")


@dataclass(slots=True)
class _Pending:
    body: str
    party: str | None
    member_keys: list[str]
    done: asyncio.Future[int]


def _direct_inserts(dialect: Dialect) -> tuple[DirectStatement, DirectStatement]:
    """The entry and member-row INSERTs compiled for the SQLite driver (once per process)."""
    return (compiled(_INSERT_ENTRIES, dialect, ("seq", "body", "prev_hash", "entry_hash", "party")),
            compiled(_INSERT_MEMBERS, dialect, ("seq", "member_key")))


def _insert_rows(connection: sqlite3.Connection,
                 statements: Sequence[tuple[str, list[tuple[Any, ...]]]]) -> None:
    """In the driver's thread: every statement's rows, then the commit; nothing on failure."""
    if connection.in_transaction:
        raise sqlite3.OperationalError("the audit connection has a transaction open")
    try:
        for sql, rows in statements:
            if rows:
                connection.executemany(sql, rows)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise


#: PostgreSQL advisory-lock key serialising audit appends of every process on a database
CHAIN_LOCK = 0x5958_4155_4449_54  # "YXAUDIT"


class AuditLog:
    """Append decisions; sign checkpoints; answer an owning party's `access_log`.

    Many writers, one chain: every hub process on a database appends to the same hash chain.
    A write first chains on the head this process last wrote (no extra statement: the common
    case of one writer); when another process took those sequence numbers the insert fails on
    the `seq` key, and the write is done again under the database's lock on the chain with the
    head read inside it (`_take_chain`), which cannot fail that way: processes append in
    turn without forks or gaps, and a busy one never runs out of retries. Appends are
    group-committed: entries arriving while a write is in progress go into the next
    transaction together (one lock, one head read, one commit for all of them), and every
    `append` returns only once the transaction holding its entry has committed (nothing is
    fire-and-forget). Checkpoints falling inside a batch (seq % checkpoint_every == 0) are
    signed and stored in the same transaction as their entry.

    With `engine`, writes go over one held connection (no pool checkout per batch); call
    `close()` when done (Trust.close does). Without it, each batch uses a session.

    With `anchor`, every checkpoint signed is appended to that file once its transaction has
    committed (never before: the file must not claim a head the database never held)."""

    #: re-chain and retry a batch this often when another writer took its sequence numbers
    RETRIES = 5

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        signing_key: Ed25519PrivateKey | None = None,
        kid: str | None = None,
        checkpoint_every: int = 100,
        engine: AsyncEngine | None = None,
        anchor: Path | None = None,
    ) -> None:
        self._sessions = sessions
        self.anchor = anchor
        self._key = signing_key
        self._kid = kid
        self._every = checkpoint_every
        self._engine = engine
        self._conn: AsyncConnection | None = None
        #: held by a batch write and by `checkpoint`: one writer at a time in this process
        self._lock = asyncio.Lock()
        #: (seq, entry hash) of the last entry this process committed; None: unknown (start,
        #: or another writer moved the chain), so the next write locks and reads it
        self._head: tuple[int, str] | None = None
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The sessions it reads with (for a caller of `append_within` re-reading its rows)."""
        return self._sessions

    async def append(self, event: AuditEvent) -> int:
        """Append `event`; returns its sequence number once it is committed."""
        body = canonical(event.body()).decode()
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(body, event.party, sorted(set(event.member_keys)), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_pending())
        # no shield needed: a cancelled request cancels only `done`, its own future; the
        # writer task writes the batch (this entry too) to the end all the same
        return await done

    async def append_within(
        self, write: Callable[[AsyncConnection], Awaitable[tuple[T, AuditEvent | None]]],
    ) -> T:
        """Run `write` and append the event it returns in ONE transaction: both commit or
        neither does. For a record that must never exist without its audit entry (a ledger
        entry, hub.exchange.ledger): `write` inserts on the given connection and returns
        (its result, the event to chain), or (result, None) when it wrote nothing.

        Holds the writer's lock for the transaction, so the head cannot move under it in this
        process; another process that took the sequence numbers makes the insert fail on
        `seq`: everything is rolled back and `write` runs again, under the chain lock. An
        error `write` raises rolls the transaction back and propagates (the caller's
        IntegrityError stays its own)."""
        async with self._lock:
            for attempt in range(self.RETRIES + 1):
                try:
                    return await self._insert_within(write, lock=attempt > 0)
                except IntegrityError:
                    raise  # the caller's own constraint: rolled back, the head unchanged
                except _ChainMoved:
                    self._head = None
                    if attempt == self.RETRIES:
                        raise ContractError("the audit chain kept moving under this "
                                            "write; try again") from None
                except BaseException:
                    self._head = None
                    await self._drop_connection()
                    raise
        raise AssertionError("unreachable")

    async def _insert_within(
        self, write: Callable[[AsyncConnection], Awaitable[tuple[T, AuditEvent | None]]], *,
        lock: bool,
    ) -> T:
        conn = await self._connection()
        signed: list[SignedCheckpoint] = []
        try:
            async with conn.begin():
                head = await self._take_chain(conn, lock=lock)
                result, event = await write(conn)
                if event is not None:
                    body = canonical(event.body()).decode()
                    pending = [_Pending(body, event.party, sorted(set(event.member_keys)),
                                        asyncio.get_running_loop().create_future())]
                    try:
                        # nested: the caller's own constraints stay its own IntegrityError
                        async with conn.begin_nested():
                            signed, _, new_head = await self._write_chained(conn, pending,
                                                                            head)
                    except IntegrityError:
                        raise _ChainMoved() from None
                    self._head = new_head
        finally:
            if self._engine is None:
                await conn.close()
        await self._anchor(signed)
        return result

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._lock:
                    seqs = await self._write_batch(batch)
            except BaseException as exc:
                for p in batch:
                    if not p.done.done():
                        p.done.set_exception(exc if isinstance(exc, Exception)
                                             else ContractError("audit write cancelled"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for p, seq in zip(batch, seqs):
                if not p.done.done():
                    p.done.set_result(seq)

    async def _write_batch(self, batch: Sequence[_Pending]) -> list[int]:
        for attempt in range(self.RETRIES + 1):
            try:
                return await self._insert(batch, lock=attempt > 0)
            except IntegrityError:
                # another writer took these sequence numbers: again, under the chain lock
                self._head = None
                if attempt == self.RETRIES:
                    raise
            except BaseException:
                self._head = None  # unknown whether it committed: read it again next time
                await self._drop_connection()
                raise
        raise AssertionError("unreachable")

    async def _take_chain(self, conn: AsyncConnection, *, lock: bool) -> tuple[int, str]:
        """The head to chain on: the one this process last wrote, unless `lock` or unknown;
        then take the database's write lock on the chain for this transaction and read the
        head there, so the write right after it cannot lose its sequence numbers to another
        process (racing without the lock, four busy processes lost often enough to exhaust
        any retry budget: tests/audit/test_audit_many_writers.py). PostgreSQL: a
        transaction-scoped advisory lock; SQLite: a write statement that changes nothing
        takes the database's write lock (waiting up to busy_timeout); others fall back on
        the `seq` key's conflict and a retry."""
        dialect = conn.dialect.name
        if dialect == "postgresql":
            # every writer holds it while it inserts (the one statement PostgreSQL adds), so
            # one that read the head under it cannot lose its numbers to an optimistic one
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
        if not lock and self._head is not None:
            return self._head
        if dialect == "sqlite":
            await conn.execute(update(AuditCheckpointRow).where(false())
                               .values(size=AuditCheckpointRow.size))
        last = (await conn.execute(
            select(AuditEntryRow.seq, AuditEntryRow.entry_hash)
            .order_by(AuditEntryRow.seq.desc()).limit(1)
        )).first()
        return (last[0], last[1]) if last else (0, GENESIS)

    def _chain(self, batch: Sequence[_Pending], head: tuple[int, str]) -> tuple[
            list[dict[str, Any]], list[dict[str, Any]], list[tuple[int, str]],
            tuple[int, str]]:
        """The rows of `batch` chained after `head`: entries, member index rows, the
        checkpoints falling inside, and the new head."""
        seq, prev = head
        entries: list[dict[str, Any]] = []
        members: list[dict[str, Any]] = []
        checkpoints: list[tuple[int, str]] = []
        for p in batch:
            seq += 1
            digest = entry_hash(prev, seq, p.body)
            entries.append({"seq": seq, "body": p.body, "prev_hash": prev,
                            "entry_hash": digest, "party": p.party})
            members.extend({"seq": seq, "member_key": k} for k in p.member_keys)
            if self._key is not None and self._every and seq % self._every == 0:
                checkpoints.append((seq, digest))
            prev = digest
        return entries, members, checkpoints, (seq, prev)

    async def _insert(self, batch: Sequence[_Pending], *, lock: bool) -> list[int]:
        signed: list[SignedCheckpoint] = []
        conn = await self._connection()
        try:
            if not lock and self._head is not None:
                seqs = await self._insert_direct(conn, batch, self._head)
                if seqs is not None:
                    return seqs
            async with conn.begin():
                head = await self._take_chain(conn, lock=lock)
                signed, seqs, new_head = await self._write_chained(conn, batch, head)
            self._head = new_head
        finally:
            if self._engine is None:
                await conn.close()
        await self._anchor(signed)
        return seqs

    async def _insert_direct(self, conn: AsyncConnection, batch: Sequence[_Pending],
                             head: tuple[int, str]) -> list[int] | None:
        """The common write on SQLite (this process's head known, no checkpoint falling in
        the batch): the entries, their member rows and the commit in one call in the
        driver's thread (hub.store.direct) instead of three hops through SQLAlchemy; the same
        rows, the same transaction, committed before this returns. None: not this case (the
        caller writes through SQLAlchemy)."""
        driver = sqlite_of(conn)
        if driver is None or conn.in_transaction():
            return None
        entries, members, checkpoints, new_head = self._chain(batch, head)
        if checkpoints:
            return None
        statements = _direct_inserts(conn.dialect)
        rows = ([statements[0].args(e) for e in entries],
                [statements[1].args(m) for m in members])
        try:
            await run_in_sqlite(driver, _insert_rows, [
                (statements[0].sql(), rows[0]), (statements[1].sql(), rows[1])])
        except sqlite3.Error as error:  # as SQLAlchemy raises it (an IntegrityError: re-chain)
            raise statements[0].translate(error, None) from error
        self._head = new_head
        return [e["seq"] for e in entries]

    async def _write_chained(
        self, conn: AsyncConnection, batch: Sequence[_Pending], head: tuple[int, str],
    ) -> tuple[list[SignedCheckpoint], list[int], tuple[int, str]]:
        """Insert `batch` chained after `head`, its member index rows and the checkpoints
        falling inside it, in the caller's transaction; the checkpoints signed, the sequence
        numbers given and the new head."""
        entries, members, checkpoints, new_head = self._chain(batch, head)
        await conn.execute(_INSERT_ENTRIES, entries)
        if members:
            await conn.execute(_INSERT_MEMBERS, members)
        signed: list[SignedCheckpoint] = []
        for size, head_hash in checkpoints:
            made = await self._add_checkpoint(conn, size, head_hash, utcnow())
            if made is not None:
                signed.append(made)
        return signed, [e["seq"] for e in entries], new_head

    def _sign(self, size: int, head: str, now: datetime) -> SignedCheckpoint:
        assert self._key is not None and self._kid is not None
        jws = sign_compact({"size": size, "head": head, "at": format_time(now),
                            "every": self._every},
                           self._key, self._kid, iat=now, extra_header={"typ": CHECKPOINT_TYPE})
        return SignedCheckpoint(size, head, now, self._kid, jws, self._every)

    async def _anchor(self, checkpoints: Sequence[SignedCheckpoint]) -> None:
        if self.anchor is None:
            return
        for checkpoint in checkpoints:
            await asyncio.to_thread(append_anchor, self.anchor, checkpoint)

    async def _connection(self) -> AsyncConnection:
        if self._engine is None:
            return await self._sessions.kw["bind"].connect()  # type: ignore[no-any-return]
        if self._conn is None:
            self._conn = await self._engine.connect()
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
            finally:
                await conn.close()

    async def _add_checkpoint(self, conn: AsyncConnection, size: int, head: str,
                              now: datetime) -> SignedCheckpoint | None:
        exists = (await conn.execute(
            select(AuditCheckpointRow.size).where(AuditCheckpointRow.size == size))).first()
        if exists is not None:
            return None
        signed = self._sign(size, head, now)
        await conn.execute(insert(AuditCheckpointRow).values(
            size=size, head_hash=head, signed=signed.jws))
        return signed

    async def drain(self) -> None:
        """Wait until every append made so far is written (or has failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def close(self) -> None:
        """Wait for pending appends, then release the held connection."""
        await self.drain()
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()

    async def checkpoint(self, now: datetime | None = None) -> int:
        """Sign (size, head) of the log now; returns the size covered."""
        async with self._lock:
            return await self._checkpoint_locked(now or utcnow())

    async def _checkpoint_locked(self, now: datetime) -> int:
        """Signs the head as stored in the database (not the in-memory one), so whatever
        another writer appended is covered too."""
        if self._key is None or self._kid is None:
            raise ContractError("the audit log has no hub signing key: cannot checkpoint")
        signed: SignedCheckpoint | None = None
        async with self._sessions.begin() as session:
            last = (await session.execute(
                select(AuditEntryRow.seq, AuditEntryRow.entry_hash)
                .order_by(AuditEntryRow.seq.desc()).limit(1)
            )).first()
            size, head = (last[0], last[1]) if last else (0, GENESIS)
            if await session.get(AuditCheckpointRow, size) is None:
                signed = self._sign(size, head, now)
                session.add(AuditCheckpointRow(size=size, head_hash=head, signed=signed.jws))
        if signed is not None:
            await self._anchor([signed])
        return size

    async def latest_checkpoint(self) -> AuditCheckpointRow | None:
        """The signed checkpoint of the largest size (what `auditHead` hands out)."""
        async with self._sessions() as session:
            return (await session.scalars(
                select(AuditCheckpointRow).order_by(AuditCheckpointRow.size.desc()).limit(1)
            )).first()

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(AuditEntryRow))
                       or 0)

    async def access_log(
        self,
        party: str,
        member_keys: Sequence[str],
        *,
        owners: Mapping[str, Set[str]],
    ) -> list[AuditEntry]:
        """Who accessed these members. Only a party owning a source of every member asked
        about may see this (`owners`: member key -> owning parties, from the index)."""
        foreign = sorted(k for k in member_keys if party not in owners.get(k, ()))
        if foreign:
            raise AccessDenied(
                f"{len(foreign)} of the members are not in a source owned by {party!r}: only "
                "the owning party may read their access log"
            )
        async with self._sessions() as session:
            rows = (await session.scalars(
                select(AuditEntryRow)
                .where(AuditEntryRow.seq.in_(
                    select(AuditMemberRow.seq).where(AuditMemberRow.member_key.in_(
                        sorted(set(member_keys))))
                ))
                .order_by(AuditEntryRow.seq)
            )).all()
        # the index only finds candidates; the hashed body says which members an entry touched
        asked = set(member_keys)
        entries = (AuditEntry.from_row(r) for r in rows)
        return [e for e in entries if asked.intersection(e.member_keys)]
