"""Verify the audit log: the hash chain end to end, and every checkpoint's hub signature.

Used by `yanxing audit verify`. Reports every problem found rather than the first, so an
operator sees the extent of tampering at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit.log import (
    CHECKPOINT_TYPE,
    GENESIS,
    AuditCheckpointRow,
    AuditEntryRow,
    entry_hash,
)
from hub.contracts.jws import parse_compact, verify_compact
from hub.errors import ContractError

__all__ = ["VerifyReport", "verify_log"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    checkpoints: int
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_log(
    sessions: async_sessionmaker[AsyncSession], hub_public_key: Ed25519PublicKey
) -> VerifyReport:
    problems: list[str] = []
    heads: dict[int, str] = {0: GENESIS}
    async with sessions() as session:
        rows = (await session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
        checkpoints = (await session.scalars(
            select(AuditCheckpointRow).order_by(AuditCheckpointRow.size))).all()
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
    for cp in checkpoints:
        try:
            jws = parse_compact(cp.signed)
            good = (jws.header.get("typ") == CHECKPOINT_TYPE and verify_compact(jws, hub_public_key)
                    and jws.payload.get("size") == cp.size and jws.payload.get("head") == cp.head_hash)
        except ContractError:
            good = False
        if not good:
            problems.append(f"checkpoint {cp.size}: not validly signed by the hub key")
            continue
        if cp.size not in heads:
            problems.append(
                f"checkpoint {cp.size}: the log has only {len(rows)} entries (entries removed "
                "from the end)"
            )
        elif heads[cp.size] != cp.head_hash:
            problems.append(
                f"checkpoint {cp.size}: the log up to entry {cp.size} differs from what the hub "
                "signed (entries rewritten)"
            )
    return VerifyReport(entries=len(rows), checkpoints=len(checkpoints),
                        problems=tuple(problems))
