"""Obligations (义务) of a contract as scheduled instances: due, fulfilled or overdue.

A contract's obligation (e.g. `{"who": "origin", "to": "destination", "what":
"reconciliation", "schedule": "quarterly", "grace_days": 15}`: 每季度通联流动党员台账) becomes
one instance per obligated party and period, from the contract's `not_before` up to the period
running now (or the contract's end). Periods are calendar months, quarters and years in China
Standard Time (UTC+8), as the agreements count them; an instance is due at the end of its
period and late after `grace_days` more.

An instance is *fulfilled* by the first ledger entry that (1) has the obligation's action
(`evaluation_letter` for 年终发函, `reconciliation` for 每季度通联台账), (2) was recorded by
the obligated party, (3) under this contract (its digest is among the entry's contracts), and
(4) within the period or its grace; one entry fulfils one instance (the oldest it can: a
reconciliation in the first days of April fulfils the first quarter, while still in its grace,
not the second too). Otherwise it is *due* until the grace ends, then *overdue*.
`FULFILMENT_CHECKS` lets a workflow add a condition per action (the reconciliation workflow:
only a reconciliation both sides signed counts): a predicate over the entry's payload.
`FULFILLING_ACTIONS` names the action that fulfils an obligation where the two differ: the
annual letter is sent when the destination signs it (`evaluation_letter_signature`), not
when it is drafted. An act both sides sign (a reconciliation: its payload's `signers`) is
the act of each signer, whichever of them recorded the entry; an entry naming its period
(`period`: "2026Q3"; a signed letter: the year it is about, `PERIOD_READERS`) fulfils that
period's instance only, even when signed after its grace: last year's letters, signed in
January, fulfil last year's obligation and never this year's.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hub.contracts.model import ROLES, Contract

__all__ = ["ObligationState", "ObligationInstance", "FulfillingEntry", "CST", "periods",
           "obligation_instances", "FULFILMENT_CHECKS", "register_fulfilment_check",
           "FULFILLING_ACTIONS", "register_fulfilling_action", "period_label", "MAX_PERIODS",
           "PERIOD_READERS", "register_period_reader"]

#: China Standard Time: the agreements' months, quarters and years
CST = timezone(timedelta(hours=8))
#: the most periods one obligation expands to (a monthly obligation over ten years is 120)
MAX_PERIODS = 240
_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}

#: action -> extra condition an entry's payload must meet to fulfil an obligation
FULFILMENT_CHECKS: dict[str, Callable[[Mapping[str, Any]], bool]] = {}


def register_fulfilment_check(action: str,
                              check: Callable[[Mapping[str, Any]], bool]) -> None:
    """Make entries of `action` fulfil an obligation only when `check(payload)` holds (e.g.
    the reconciliation workflow: both parties signed)."""
    FULFILMENT_CHECKS[action] = check


#: action -> the period an entry of it is about, read from its payload where the payload
#: says so another way than a `period` field (a signed letter names its year in its envelope)
PERIOD_READERS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {}


def register_period_reader(action: str,
                           reader: Callable[[Mapping[str, Any]], str | None]) -> None:
    """Make entries of `action` fulfil only the period `reader(payload)` names (None: the
    period they were recorded in, as entries that name none)."""
    PERIOD_READERS[action] = reader


#: obligation (`what`) -> the ledger action that fulfils it, where they differ
FULFILLING_ACTIONS: dict[str, str] = {}


def register_fulfilling_action(what: str, action: str) -> None:
    """Make entries of `action` (not of `what` itself) fulfil `what` obligations."""
    FULFILLING_ACTIONS[what] = action


class ObligationState(enum.StrEnum):
    DUE = "due"              # not fulfilled, the grace has not ended
    FULFILLED = "fulfilled"  # an entry fulfilled it
    OVERDUE = "overdue"      # not fulfilled, the grace has ended


@dataclass(frozen=True, slots=True)
class FulfillingEntry:
    """What the schedule needs of a ledger entry."""

    id: int
    action: str
    party: str
    contracts: tuple[str, ...]
    recorded_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObligationInstance:
    contract_id: str
    contract_digest: str
    contract_title: str
    #: position of the obligation in the contract's list
    index: int
    what: str
    schedule: str
    description: str
    party: str                  # the obligated party
    to: tuple[str, ...]         # the parties it is owed to
    period_start: datetime
    due_at: datetime            # the end of the period
    grace_until: datetime
    state: ObligationState
    fulfilled_by: int | None = None
    fulfilled_at: datetime | None = None

    @property
    def key(self) -> str:
        """Stable id: contract, obligation, party and period."""
        return (f"{self.contract_id}:{self.index}:{self.party}:"
                f"{self.period_start.astimezone(CST):%Y-%m}")


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + (moment.month - 1) + months
    return moment.replace(year=total // 12, month=total % 12 + 1)


def _period_start(moment: datetime, months: int) -> datetime:
    local = moment.astimezone(CST)
    month = ((local.month - 1) // months) * months + 1
    return local.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def periods(schedule: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The calendar periods (UTC start, UTC end) of `schedule` that overlap [start, end)."""
    months = _MONTHS.get(schedule)
    if months is None:
        raise ValueError(f"unknown schedule {schedule!r}; one of {', '.join(_MONTHS)}")
    out: list[tuple[datetime, datetime]] = []
    cursor = _period_start(start, months)
    while cursor < end and len(out) < MAX_PERIODS:
        nxt = _add_months(cursor, months)
        out.append((cursor.astimezone(UTC), nxt.astimezone(UTC)))
        cursor = nxt
    return out


def period_label(start: datetime, schedule: str) -> str:
    """How an entry names the period starting at `start`: 2026Q3, 2026, 2026-07."""
    local = start.astimezone(CST)
    if schedule == "quarterly":
        return f"{local.year}Q{(local.month - 1) // 3 + 1}"
    if schedule == "yearly":
        return str(local.year)
    return f"{local.year}-{local.month:02d}"


def _fulfils(e: FulfillingEntry, start: datetime, grace: datetime, schedule: str) -> bool:
    """Does `e` fulfil the instance of the period [start, ...)? An entry that names its period
    (a reconciliation's `period`: it reconciles 2026Q3 whenever it is signed) fulfils that
    period only, late or not (`fulfilled_at` shows when); any other, the period it was
    recorded in (or the grace after it)."""
    reader = PERIOD_READERS.get(e.action)
    named = reader(e.payload) if reader is not None else e.payload.get("period")
    if isinstance(named, str):
        return named == period_label(start, schedule) and e.recorded_at >= start
    return start <= e.recorded_at < grace


def _parties(contract: Contract, ref: str | None) -> list[str]:
    if ref is None:
        return []
    if ref in ROLES:
        return sorted(p for p, r in contract.parties.items() if r == ref)
    return [ref] if ref in contract.parties else []


def obligation_instances(contract: Contract, entries: Iterable[FulfillingEntry],
                         now: datetime, *, party: str | None = None,
                         until: datetime | None = None) -> list[ObligationInstance]:
    """Every instance of `contract`'s obligations up to the period running at `now` (for
    `party` only: those it owes or is owed), each with its state at `now`. `until`: the
    contract ended early (revoked then): no periods start after it."""
    by_action: dict[str, list[FulfillingEntry]] = {}
    for e in entries:
        if contract.digest in e.contracts:
            by_action.setdefault(e.action, []).append(e)
    for found in by_action.values():
        found.sort(key=lambda e: (e.recorded_at, e.id))
    end = min(now, contract.not_after, until or now)
    out: list[ObligationInstance] = []
    for index, ob in enumerate(contract.obligations):
        check = FULFILMENT_CHECKS.get(ob.what)
        for who in _parties(contract, ob.who):
            to = tuple(p for p in _parties(contract, ob.to) if p != who)
            if party is not None and party != who and party not in to:
                continue
            used: set[int] = set()  # one entry fulfils one instance, the oldest it can
            for start, due in periods(ob.schedule, contract.not_before, end):
                grace = due + timedelta(days=ob.grace_days)
                hit = next((e for e in by_action.get(FULFILLING_ACTIONS.get(ob.what, ob.what), ())
                            if e.id not in used
                            and (e.party == who or who in e.payload.get("signers", ()))
                            and _fulfils(e, start, grace, ob.schedule)
                            and (check is None or check(e.payload))), None)
                if hit is not None:
                    used.add(hit.id)
                    state = ObligationState.FULFILLED
                elif now >= grace:
                    state = ObligationState.OVERDUE
                else:
                    state = ObligationState.DUE
                out.append(ObligationInstance(
                    contract.id, contract.digest, contract.title, index, ob.what, ob.schedule,
                    ob.description, who, to, start, due, grace, state,
                    hit.id if hit else None, hit.recorded_at if hit else None))
    return out


def instances_of(contracts: Sequence[tuple[Contract, datetime | None]],
                 entries: Sequence[FulfillingEntry], now: datetime, *,
                 party: str | None = None) -> list[ObligationInstance]:
    """`obligation_instances` over several (contract, until) pairs, newest period first,
    then by contract."""
    out = [i for c, until in contracts
           for i in obligation_instances(c, entries, now, party=party, until=until)]
    out.sort(key=lambda i: (-i.period_start.timestamp(), i.contract_id, i.index, i.party))
    return out


__all__ += ["instances_of"]
