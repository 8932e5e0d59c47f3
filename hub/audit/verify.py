"""Verify the audit log: the chain, its indexes, and every signed head the verifier knows of.

Used by `yanxing audit verify`. Reports every problem found rather than the first, so an
operator sees the extent of tampering at once. What is checked, and which attack each catches:

- the hash chain end to end: an edited, deleted, inserted or reordered entry;
- the lookup indexes against the hashed bodies: the `party` column, and `audit_members` (a
  deleted row would hide an access from the owner's `accessLog`, an added one would show a
  party an access that never touched its member);
- every signed checkpoint in the database, in the anchor file (`[trust] audit_anchor`, outside
  the database) and in heads parties saved from `auditHead` (`--since-head`): the chain must be
  at least that long and hold that hash there. So a chain re-hashed end to end, or truncated,
  is caught even when the attacker deleted the checkpoints in the database too;
- gaps: more than `checkpoint_every` entries without a signed checkpoint means checkpoints
  were deleted (or the hub signs none: give it `hub_private_key`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit.anchor import SignedCheckpoint, read_anchor
from hub.audit.log import (
    GENESIS,
    AuditCheckpointRow,
    AuditEntryRow,
    AuditMemberRow,
    entry_hash,
)
from hub.errors import ContractError

__all__ = ["VerifyReport", "verify_log", "DEFAULT_CHECKPOINT_EVERY"]

#: used when neither the caller nor a signed checkpoint says how often the hub checkpoints
DEFAULT_CHECKPOINT_EVERY = 100


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    checkpoints: int
    problems: tuple[str, ...] = field(default=())
    #: signed checkpoints read from the anchor file
    anchored: int = 0
    #: saved heads (`--since-head`) the log was shown to have grown from
    heads: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Chain:
    """The log as read: entry heads by size, for checking any signed checkpoint."""

    heads: dict[int, str]
    entries: int
    problems: list[str]
    #: sizes of validly signed checkpoints within the log (matching or not: a mismatch is
    #: reported as such, the gap check is about checkpoints that are missing)
    covered: set[int] = field(default_factory=lambda: {0})

    def check(self, checkpoint: SignedCheckpoint, where: str) -> None:
        if checkpoint.size <= self.entries:
            self.covered.add(checkpoint.size)
        if checkpoint.size > self.entries:
            self.problems.append(
                f"{where}: the hub signed a log of {checkpoint.size} entries at "
                f"{checkpoint.at.isoformat()}, but the log has only {self.entries} (entries "
                "removed from the end)")
        elif self.heads.get(checkpoint.size) != checkpoint.head:
            self.problems.append(
                f"{where}: the log up to entry {checkpoint.size} differs from what the hub "
                "signed (entries rewritten)")


async def verify_log(
    sessions: async_sessionmaker[AsyncSession],
    hub_public_key: Ed25519PublicKey,
    *,
    anchor: Path | None = None,
    since_heads: Sequence[str] = (),
    checkpoint_every: int | None = None,
) -> VerifyReport:
    """`anchor`: the anchor file (its absence is a problem); `since_heads`: checkpoint JWSs
    parties saved; `checkpoint_every`: the largest allowed gap (default: what the latest
    signed checkpoint says, else DEFAULT_CHECKPOINT_EVERY)."""
    problems: list[str] = []
    async with sessions() as session:
        rows = (await session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
        checkpoints = (await session.scalars(
            select(AuditCheckpointRow).order_by(AuditCheckpointRow.size))).all()
        indexed = (await session.execute(
            select(AuditMemberRow.seq, AuditMemberRow.member_key))).all()
    chain = _Chain(_check_chain(rows, problems), len(rows), problems)
    _check_indexes(rows, indexed, problems)
    signed: list[SignedCheckpoint] = []
    in_database: set[int] = set()
    for cp in checkpoints:
        try:
            checkpoint = SignedCheckpoint.verified(cp.signed, hub_public_key)
        except ContractError:
            checkpoint = None
        if checkpoint is None or (checkpoint.size, checkpoint.head) != (cp.size, cp.head_hash):
            problems.append(f"checkpoint {cp.size}: not validly signed by the hub key")
            continue
        chain.check(checkpoint, f"checkpoint {cp.size}")
        signed.append(checkpoint)
        in_database.add(cp.size)
    anchored = _check_anchor(anchor, hub_public_key, chain, in_database, signed)
    for n, jws in enumerate(since_heads, start=1):
        where = "saved head" if len(since_heads) == 1 else f"saved head {n}"
        try:
            checkpoint = SignedCheckpoint.verified(jws, hub_public_key)
        except ContractError as exc:
            problems.append(f"{where}: {exc}")
            continue
        chain.check(checkpoint, f"{where} (entry {checkpoint.size})")
        signed.append(checkpoint)
    _check_gaps(chain, _every(checkpoint_every, signed))
    return VerifyReport(entries=len(rows), checkpoints=len(checkpoints),
                        problems=tuple(problems), anchored=anchored, heads=len(since_heads))


def _check_chain(rows: Sequence[AuditEntryRow], problems: list[str]) -> dict[int, str]:
    heads: dict[int, str] = {0: GENESIS}
    head = GENESIS
    expected = 1
    for row in rows:
        if row.seq != expected:
            problems.append(
                f"entry {row.seq}: expected sequence number {expected} (an entry was deleted "
                "or inserted)"
            )
        if row.prev_hash != head:
            problems.append(
                f"entry {row.seq}: does not follow the previous entry (deleted, inserted or "
                "reordered entries)"
            )
        if entry_hash(row.prev_hash, row.seq, row.body) != row.entry_hash:
            problems.append(f"entry {row.seq}: content does not match its hash (edited)")
        head = row.entry_hash
        heads[row.seq] = head
        expected = row.seq + 1
    return heads


def _check_indexes(rows: Sequence[AuditEntryRow], indexed: Sequence[tuple[int, str]],
                   problems: list[str]) -> None:
    """`audit_members` and `party` must say exactly what the hashed bodies say."""
    by_seq: dict[int, set[str]] = {}
    for seq, key in indexed:
        by_seq.setdefault(seq, set()).add(key)
    for row in rows:
        try:
            body = json.loads(row.body)
            members = set(body["members"])
            party = body["party"]
        except (ValueError, KeyError, TypeError):
            problems.append(f"entry {row.seq}: body is not an audit entry")
            continue
        listed = by_seq.pop(row.seq, set())
        if members - listed:
            problems.append(
                f"entry {row.seq}: {len(members - listed)} member key(s) missing from the "
                "audit_members index (rows deleted: the access is hidden from accessLog)")
        if listed - members:
            problems.append(
                f"entry {row.seq}: audit_members lists {len(listed - members)} member key(s) "
                "the entry does not hold (rows inserted)")
        if row.party != party:
            problems.append(f"entry {row.seq}: the party column differs from the entry (edited)")
    for seq in sorted(by_seq):
        problems.append(f"audit_members: rows for entry {seq}, which is not in the log")


def _check_anchor(anchor: Path | None, key: Ed25519PublicKey, chain: _Chain,
                  in_database: set[int], signed: list[SignedCheckpoint]) -> int:
    if anchor is None:
        return 0
    if not anchor.is_file():
        chain.problems.append(
            f"anchor file {anchor} not found: the hub appends every signed checkpoint there; "
            "restore it (or point --anchor at it)")
        return 0
    count = 0
    try:
        lines = list(read_anchor(anchor))
    except (OSError, UnicodeDecodeError) as exc:
        chain.problems.append(f"anchor file {anchor}: cannot read it: {exc}")
        return 0
    for number, jws in lines:
        where = f"anchor line {number}"
        if jws is None:
            chain.problems.append(f"{where}: not a signed checkpoint")
            continue
        try:
            checkpoint = SignedCheckpoint.verified(jws, key)
        except ContractError as exc:
            chain.problems.append(f"{where}: {exc}")
            continue
        count += 1
        chain.check(checkpoint, f"{where} (entry {checkpoint.size})")
        if checkpoint.size not in in_database and checkpoint.size <= chain.entries:
            chain.problems.append(
                f"{where}: checkpoint {checkpoint.size} is missing from the database "
                "(checkpoints deleted)")
        signed.append(checkpoint)
    return count


def _every(explicit: int | None, signed: Sequence[SignedCheckpoint]) -> int:
    if explicit is not None:
        return explicit
    latest = max(signed, key=lambda c: c.size, default=None)
    if latest is not None and latest.every:
        return latest.every
    return DEFAULT_CHECKPOINT_EVERY


def _check_gaps(chain: _Chain, every: int) -> None:
    """No more than `every` entries in a row without a matching signed checkpoint."""
    marks = [*sorted(s for s in chain.covered if s <= chain.entries), chain.entries]
    for before, after in pairwise(marks):
        if after - before > every:
            chain.problems.append(
                f"entries {before + 1}..{after}: no signed checkpoint covers them, but the hub "
                f"signs one every {every} entries (checkpoints deleted, or the hub has no "
                "hub_private_key)")
