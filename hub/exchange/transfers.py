"""组织关系转接, the membership transfer (workflow 6), as ledger entries and their state.

Every step is a ledger entry under the contract record permission `transfer`; the request's
entry number is the transfer's number and every later step answers it:

| action | step | by (hub.exchange.transfer_rules) |
|---|---|---|
| `transfer_request` | -> requested | origin, receiving party or the member's branch |
| `transfer_approval` | requested -> approved | origin (党籍管理 is the origin's) |
| `transfer_acceptance` | approved -> accepted | receiving party |
| `transfer_completion` | accepted -> completed | origin; the index moves the member |
| `transfer_rejection` | requested/approved -> rejected | origin; receiving once approved |
| `transfer_withdrawal` | requested/approved -> withdrawn | the requester |

`exchange_transfers` holds each transfer's current state (a projection; the entries are the
record). A member has at most one open transfer (`open_key`, NULL once final). Each step's
state change is a compare-and-set inside its entry's transaction, so of two concurrent steps
one is written and the other is STATE_CONFLICT with nothing written.

On completion (`completion_effect`) the member's origin organisation and region in the index
become the receiving organisation's, in the same transaction: every contract whose scope
covered the member by the old origin stops covering them at the next request. The systems of
record learn it through write-back: the `transfer_completion` entry is delivered by the
ledger's delivery hook (the outbox, `hub.exchange.outbox.delivery_effect`) to every source
holding the member or either organisation whose mapping declares `[write.transfer_completion]`
(`MEMBERSHIP_CHANGE_ACTION`); a source that cannot take it keeps the change in the hub only.
Until the origin's own system says so too, a full sync of that system would merge its old
value back (origin systems win for 组织关系): that is what the write-back closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import as_utc
from hub.exchange.ledger import Effect, Entry
from hub.exchange.payloads import Payload, action, check_text
from hub.exchange.transfer_rules import TransferAction, TransferRole, TransferState, step
from hub.exchange.workflow_errors import StateConflict
from hub.store.base import Base
from hub.store.models import MemberRow

__all__ = [
    "REQUEST_ACTION", "STEP_ACTIONS", "MEMBERSHIP_CHANGE_ACTION", "MAX_REASON",
    "TransferRequest", "TransferApproval", "TransferAcceptance", "TransferCompletion",
    "TransferRejection", "TransferWithdrawal", "TransferRow", "Transfer", "TransferParties",
    "request_effect", "step_effect", "transfer_by_id", "roles_of",
]

REQUEST_ACTION = "transfer_request"
#: the entry that changes the membership: what write-back delivers to systems of record
MEMBERSHIP_CHANGE_ACTION = "transfer_completion"
MAX_REASON = 1000


@action(REQUEST_ACTION, permission="transfer")
@dataclass(frozen=True, slots=True)
class TransferRequest(Payload):
    """Move the member's membership to `to_organization` (转入党组织)."""

    to_organization: str
    reason: str | None = None

    def validate(self) -> None:
        check_text("to_organization", self.to_organization, max_length=64, required=True)
        check_text("reason", self.reason, max_length=MAX_REASON)


@dataclass(frozen=True, slots=True)
class _Step(Payload):
    note: str | None = None

    def validate(self) -> None:
        check_text("note", self.note, max_length=MAX_REASON)


@action("transfer_approval", permission="transfer")
@dataclass(frozen=True, slots=True)
class TransferApproval(_Step):
    """The origin approves (党籍管理)."""


@action("transfer_acceptance", permission="transfer")
@dataclass(frozen=True, slots=True)
class TransferAcceptance(_Step):
    """The receiving party accepts."""


@action(MEMBERSHIP_CHANGE_ACTION, permission="transfer")
@dataclass(frozen=True, slots=True)
class TransferCompletion(_Step):
    """The origin completes: the membership moves."""


@action("transfer_rejection", permission="transfer")
@dataclass(frozen=True, slots=True)
class TransferRejection(_Step):
    """The origin (or, once approved, the receiving party) refuses."""


@action("transfer_withdrawal", permission="transfer")
@dataclass(frozen=True, slots=True)
class TransferWithdrawal(_Step):
    """The requester takes the request back."""


#: each step's payload type and ledger action
STEP_ACTIONS: dict[TransferAction, type[_Step]] = {
    TransferAction.APPROVE: TransferApproval,
    TransferAction.ACCEPT: TransferAcceptance,
    TransferAction.COMPLETE: TransferCompletion,
    TransferAction.REJECT: TransferRejection,
    TransferAction.WITHDRAW: TransferWithdrawal,
}


class TransferRow(Base):
    """A transfer's current state; the ledger entries are the record."""

    __tablename__ = "exchange_transfers"
    __table_args__ = (UniqueConstraint("open_key", name="uq_exchange_transfers_open"),)

    #: the ledger number of its `transfer_request` entry
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    member_key: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    #: the member key while the transfer is open; NULL once final (one open per member)
    open_key: Mapped[str | None] = mapped_column(String(64))
    from_org: Mapped[str | None] = mapped_column(String(64))
    from_region: Mapped[str | None] = mapped_column(String(6))
    to_org: Mapped[str] = mapped_column(String(64))
    to_region: Mapped[str | None] = mapped_column(String(6))
    origin_party: Mapped[str | None] = mapped_column(String(64), index=True)
    receiving_party: Mapped[str | None] = mapped_column(String(64), index=True)
    branch_party: Mapped[str | None] = mapped_column(String(64), index=True)
    requester_party: Mapped[str] = mapped_column(String(64), index=True)
    requester_org: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    #: the ledger number of the latest step
    last_entry: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime]
    updated_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class TransferParties:
    """Who holds which role in one transfer, resolved when it is requested."""

    origin: str | None      # holds the member's membership organisation (from_org)
    receiving: str | None   # holds to_org
    branch: str | None      # holds the member's destination branch


@dataclass(frozen=True, slots=True)
class Transfer:
    id: int
    member_key: str
    state: TransferState
    from_org: str | None
    from_region: str | None
    to_org: str
    to_region: str | None
    parties: TransferParties
    requester_party: str
    requester_org: str
    reason: str | None
    last_entry: int
    requested_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Transfer:
        requested, updated = as_utc(row.requested_at), as_utc(row.updated_at)
        assert requested is not None and updated is not None
        return cls(
            id=row.id, member_key=row.member_key, state=TransferState(row.state),
            from_org=row.from_org, from_region=row.from_region, to_org=row.to_org,
            to_region=row.to_region,
            parties=TransferParties(row.origin_party, row.receiving_party, row.branch_party),
            requester_party=row.requester_party, requester_org=row.requester_org,
            reason=row.reason, last_entry=row.last_entry, requested_at=requested,
            updated_at=updated)

    def involves(self, party: str) -> bool:
        return party in {self.parties.origin, self.parties.receiving, self.parties.branch,
                         self.requester_party}

    def org_of(self, party: str) -> str:
        """Where `party` records its steps: its organisation in this transfer."""
        if party == self.parties.origin and self.from_org:
            return self.from_org
        if party == self.parties.receiving:
            return self.to_org
        return self.requester_org


def roles_of(parties: TransferParties, party: str,
             requester: str | None = None) -> frozenset[TransferRole]:
    roles = set()
    if party == parties.origin:
        roles.add(TransferRole.ORIGIN)
    if party == parties.receiving:
        roles.add(TransferRole.RECEIVING)
    if party == parties.branch:
        roles.add(TransferRole.BRANCH)
    if requester is not None and party == requester:
        roles.add(TransferRole.REQUESTER)
    return frozenset(roles)


def request_effect(*, from_org: str | None, from_region: str | None, to_region: str | None,
                   parties: TransferParties) -> Effect:
    """Open the transfer; STATE_CONFLICT when the member has an open one already."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        payload = entry.payload
        assert isinstance(payload, TransferRequest) and entry.member_key is not None
        open_one = (await conn.execute(select(TransferRow.id, TransferRow.state).where(
            TransferRow.open_key == entry.member_key))).first()
        if open_one is not None:
            raise StateConflict(
                f"transfer {open_one.id} of this member is still {open_one.state}: finish "
                "or withdraw it before requesting another")
        await conn.execute(insert(TransferRow).values(
            id=entry.id, member_key=entry.member_key, state=TransferState.REQUESTED.value,
            open_key=entry.member_key, from_org=from_org, from_region=from_region,
            to_org=payload.to_organization, to_region=to_region, origin_party=parties.origin,
            receiving_party=parties.receiving, branch_party=parties.branch,
            requester_party=entry.party, requester_org=entry.organization,
            reason=payload.reason, last_entry=entry.id, requested_at=entry.recorded_at,
            updated_at=entry.recorded_at))

    return effect


def step_effect(transfer_id: int, step_action: TransferAction) -> Effect:
    """Take one step, re-checked in the transaction against the stored state and the roles
    the acting party holds (a compare-and-set: a concurrent step makes this one conflict).
    Completion also moves the member in the index (module docstring)."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        row = (await conn.execute(select(TransferRow).where(TransferRow.id == transfer_id))
               ).first()
        if row is None:
            raise StateConflict(f"no transfer {transfer_id}")
        transfer = Transfer.from_row(row)
        roles = roles_of(transfer.parties, entry.party, transfer.requester_party)
        target = step(transfer.state, step_action, roles)
        final = target in (TransferState.COMPLETED, TransferState.REJECTED,
                           TransferState.WITHDRAWN)
        values: dict[str, Any] = {"state": target.value, "last_entry": entry.id,
                                  "updated_at": entry.recorded_at}
        if final:
            values["open_key"] = None
        done = await conn.execute(update(TransferRow).where(
            TransferRow.id == transfer_id, TransferRow.state == transfer.state.value
        ).values(**values))
        if done.rowcount != 1:
            raise StateConflict(f"transfer {transfer_id} moved on while this step was taken; "
                                "read it again")
        if target is TransferState.COMPLETED:
            await conn.execute(update(MemberRow).where(
                MemberRow.key == transfer.member_key).values(
                origin_org_id=transfer.to_org, origin_region_code=transfer.to_region,
                indexed_at=entry.recorded_at))

    return effect


async def transfer_by_id(sessions: async_sessionmaker[AsyncSession],
                         transfer_id: int) -> Transfer | None:
    """Unscoped: the caller checks that the asking party takes part and may see the member."""
    async with sessions() as session:
        row = (await session.execute(select(TransferRow).where(TransferRow.id == transfer_id))
               ).scalar_one_or_none()
        return Transfer.from_row(row) if row is not None else None
