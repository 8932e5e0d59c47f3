"""Obligations (workflow 7): the instances of the caller's contracts, with their states.

The schedule is pure (hub.exchange.schedule); this module reads what it needs: the contracts
(any that were ever in force: active, expired, superseded or revoked, each up to its end) and
the ledger entries that can fulfil an obligation (those whose action an obligation names:
`evaluation_letter` from the letters workflow, `reconciliation` from the reconciliation
workflow, matched by action), and answers
per party: those it owes or is owed, or, for an observer of a contract, all of its instances.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.clock import as_utc
from hub.contracts.lifecycle import ContractState
from hub.contracts.model import Role
from hub.contracts.store import ContractRecord
from hub.exchange.ledger import ExchangeEntryRow
from hub.exchange.schedule import (
    FULFILLING_ACTIONS,
    FulfillingEntry,
    ObligationInstance,
    instances_of,
)

__all__ = ["fulfilling_entries", "obligations_for"]

_ONCE_IN_FORCE = frozenset({ContractState.ACTIVE, ContractState.EXPIRED,
                            ContractState.SUPERSEDED, ContractState.REVOKED})


async def fulfilling_entries(sessions: async_sessionmaker[AsyncSession],
                             parties: Iterable[str],
                             actions: Iterable[str]) -> list[FulfillingEntry]:
    """The entries of `parties` with one of `actions` (what obligations name)."""
    stmt = select(ExchangeEntryRow.id, ExchangeEntryRow.action, ExchangeEntryRow.party,
                  ExchangeEntryRow.contracts, ExchangeEntryRow.recorded_at,
                  ExchangeEntryRow.payload).where(
        ExchangeEntryRow.action.in_(sorted(set(actions))),
        ExchangeEntryRow.party.in_(sorted(set(parties))))
    async with sessions() as session:
        rows = (await session.execute(stmt)).all()
    return [FulfillingEntry(r.id, r.action, r.party, tuple(r.contracts.split()),
                            as_utc(r.recorded_at) or r.recorded_at, json.loads(r.payload))
            for r in rows]


async def obligations_for(sessions: async_sessionmaker[AsyncSession],
                          records: Iterable[ContractRecord], now: datetime, *,
                          party: str | None = None) -> list[ObligationInstance]:
    """Instances of the obligations of `records` at `now`, newest period first. `party`:
    the caller; it sees the instances it owes or is owed, or all of a contract it
    observes (None: the operator, everything)."""
    chosen = [r for r in records if r.state in _ONCE_IN_FORCE and r.contract.obligations]
    if not chosen:
        return []
    entries = await fulfilling_entries(
        sessions, {p for r in chosen for p in r.contract.parties},
        {FULFILLING_ACTIONS.get(o.what, o.what) for r in chosen for o in r.contract.obligations})
    out: list[ObligationInstance] = []
    for record in chosen:
        c = record.contract
        sees_all = party is None or c.parties.get(party) is Role.OBSERVER
        out += instances_of([(c, record.revoked_at)], entries, now,
                            party=None if sees_all else party)
    out.sort(key=lambda i: (-i.period_start.timestamp(), i.contract_id, i.index, i.party))
    return out
