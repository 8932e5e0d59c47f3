"""GraphQL for workflow 6, 组织关系转接: request a membership transfer, take its steps, list
transfers and the members due for a step (the 3- and 6-month thresholds).

Every step is a guarded ledger action (`@ledger_action`, permission `transfer`); who may take
which step is hub.exchange.transfer_rules, checked here for a clear early answer and again in
the entry's transaction (hub.exchange.transfers.step_effect), so two concurrent steps give
one entry. A transfer is shown only to the parties taking part in it (origin, receiving,
branch, requester), and only while its member is in the caller's scope: after completion
the old origin, if it saw the member only through a contract scoped on the old origin, no
longer sees it, nor the transfer.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import false, or_, select
from strawberry.types import Info

from hub.api.context import Context
from hub.api.exchange import Intent, ledger_action
from hub.api.inputs import check_org_code
from hub.api.types.exchange import ExchangeReceipt
from hub.api.types.node import to_global_id
from hub.api.types.pagination import Connection
from hub.api.types.resolve import member_by_key, member_from_row, members_from_rows
from hub.api.types.workflow_pages import connection_of, fetch_window
from hub.api.types.workflow_parties import organization_party, refusals_audited, trust_of
from hub.clock import utcnow
from hub.errors import NotFound
from hub.exchange.errors import PayloadInvalid
from hub.exchange.transfer_due import DueStep, due_members
from hub.exchange.transfer_rules import TRANSITIONS, TransferAction, TransferState
from hub.exchange.transfers import (
    REQUEST_ACTION,
    STEP_ACTIONS,
    Transfer,
    TransferParties,
    TransferRequest,
    TransferRow,
    request_effect,
    roles_of,
    step_effect,
    transfer_by_id,
)
from hub.exchange.workflow_errors import WrongParty
from hub.policy.base import ScopeByRow
from hub.store.models import MemberRow

if TYPE_CHECKING:
    from hub.api.types.member import Member
    from hub.api.types.organization import Organization

__all__ = ["QUERY_TYPES", "MUTATION_TYPES", "MembershipTransfer", "TransferReceipt"]

_Member = Annotated["Member", strawberry.lazy("hub.api.types.member")]
_Organization = Annotated["Organization", strawberry.lazy("hub.api.types.organization")]


@strawberry.enum(description="转接状态。 State of a membership transfer.")
class TransferStateKind(enum.Enum):
    REQUESTED = strawberry.enum_value("requested", description="已申请 requested")
    APPROVED = strawberry.enum_value("approved", description="流出地已同意 approved by the "
                                     "origin")
    ACCEPTED = strawberry.enum_value("accepted", description="转入方已接收 accepted by the "
                                     "receiving side")
    COMPLETED = strawberry.enum_value("completed", description="已完成（终态） completed "
                                      "(final)")
    REJECTED = strawberry.enum_value("rejected", description="已拒绝（终态） rejected (final)")
    WITHDRAWN = strawberry.enum_value("withdrawn", description="已撤回（终态） withdrawn "
                                      "(final)")


@strawberry.enum(description="到期应办事项。 A step a member is due for.")
class DueStepKind(enum.Enum):
    ATTACH_DESTINATION_BRANCH = strawberry.enum_value(
        "attach_destination_branch", description="外出三个月以上，应就近编入流入地党组织 away "
        "3+ months: attach to a destination branch")
    FLOATING_BRANCH = strawberry.enum_value(
        "floating_branch", description="外出六个月以上未转接，应编入村流动党员党支部 away 6+ "
        "months without transfer: the village's floating-member branch")


@strawberry.type(name="MembershipTransfer", description="组织关系转接：申请、流出地同意、转入方"
                 "接收、完成（或拒绝、撤回）。 A membership transfer (组织关系转接): requested, "
                 "approved by the origin, accepted by the receiving side, completed (or "
                 "rejected, withdrawn).")
class MembershipTransfer:
    _transfer: strawberry.Private[Transfer]

    @strawberry.field(description="全局 ID。 Relay global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("MembershipTransfer", str(self._transfer.id)))

    @strawberry.field(description="转接编号（申请条目的台账编号）。 Transfer number: the ledger "
                      "number of its request.")
    def number(self) -> int:
        return self._transfer.id

    @strawberry.field(description="状态。 State.")
    def state(self) -> TransferStateKind:
        return TransferStateKind(self._transfer.state.value)

    @strawberry.field(description="是否终态。 True in a final state (completed, rejected, "
                      "withdrawn).")
    def final(self) -> bool:
        return self._transfer.state in (TransferState.COMPLETED, TransferState.REJECTED,
                                         TransferState.WITHDRAWN)

    @strawberry.field(description="成员键。 Member key.")
    def member_key(self) -> strawberry.ID:
        return strawberry.ID(self._transfer.member_key)

    @strawberry.field(description="成员（调用方可见时）。 The member, when the caller may see "
                      "them.")
    async def member(self, info: Info) -> _Member | None:
        return await member_by_key(info, self._transfer.member_key)

    @strawberry.field(description="转出党组织（原组织关系所在）。 The organisation the "
                      "membership leaves.")
    async def from_organization(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        return await organization_by_code(info, self._transfer.from_org)

    @strawberry.field(description="转入党组织。 The organisation the membership moves to.")
    async def to_organization(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        return await organization_by_code(info, self._transfer.to_org)

    @strawberry.field(description="流出地方（审批、完成）。 The origin party (approves, "
                      "completes).")
    def origin_party(self) -> str | None:
        return self._transfer.parties.origin

    @strawberry.field(description="转入方（接收）。 The receiving party (accepts).")
    def receiving_party(self) -> str | None:
        return self._transfer.parties.receiving

    @strawberry.field(description="成员所在支部一方。 The party of the member's current "
                      "branch.")
    def branch_party(self) -> str | None:
        return self._transfer.parties.branch

    @strawberry.field(description="申请方（可撤回）。 The requesting party (may withdraw).")
    def requester_party(self) -> str:
        return self._transfer.requester_party

    @strawberry.field(description="申请理由。 Reason given with the request.")
    def reason(self) -> str | None:
        return self._transfer.reason

    @strawberry.field(description="最近一步的台账编号。 Ledger number of the latest step.")
    def last_entry(self) -> int:
        return self._transfer.last_entry

    @strawberry.field(description="申请时间。 Requested at (UTC).")
    def requested_at(self) -> datetime:
        return self._transfer.requested_at

    @strawberry.field(description="最近更新。 Last change (UTC).")
    def updated_at(self) -> datetime:
        return self._transfer.updated_at


@strawberry.type(description="转接操作回执：台账条目、转接、成员与党组织。 Receipt of a "
                 "transfer step: the ledger entry, the transfer, the member and organisation.")
class TransferReceipt(ExchangeReceipt):
    @strawberry.field(description="转接（当前状态）。 The transfer as it stands now.")
    async def transfer(self, info: Info) -> MembershipTransfer | None:
        entry = self.entry._entry
        number = entry.id if entry.action == REQUEST_ACTION else entry.answers
        if number is None:
            return None
        found = await transfer_by_id(info.context.runtime.session_factory, number)
        return MembershipTransfer(_transfer=found) if found is not None else None


@strawberry.type(description="到期应办的成员。 A member due for a step.")
class MemberDue:
    step: DueStepKind = strawberry.field(description="应办事项。 The step due.")
    away_since: datetime = strawberry.field(description="最早的在流入地记录（报到或参加活动）。 "
                                            "Earliest record of the member at the destination "
                                            "(check-in or attendance).")
    _member: strawberry.Private[object]

    @strawberry.field(description="成员。 The member.")
    def member(self) -> _Member:
        return self._member  # type: ignore[return-value]


@strawberry.input(description="转接筛选。 Filter for membership transfers.")
class TransferFilter:
    state: TransferStateKind | None = strawberry.field(default=None, description="状态。 State.")
    member_key: strawberry.ID | None = strawberry.field(
        default=None, description="成员键。 One member's transfers.")
    open: bool | None = strawberry.field(
        default=None, description="仅未完结（true）或仅终态（false）。 Only open (true) or only "
        "final (false) transfers.")


async def _visible_transfer(ctx: Context, number: int) -> Transfer:
    found = await transfer_by_id(ctx.runtime.session_factory, number)
    party = ctx.caller.party
    if found is None or party is None or not found.involves(party) or \
            await member_from_row(ctx, await ctx.loaders.member_rows.load(
                found.member_key)) is None:
        ctx.access.refused()
        raise NotFound(f"no membership transfer {number}")
    return found


def _step_roles(step_action: TransferAction) -> frozenset[object]:
    return frozenset(r for (_, a), t in TRANSITIONS.items() if a is step_action for r in t.roles)


async def _step(info: Info, number: int, step_action: TransferAction,
                note: str | None) -> Intent:
    ctx: Context = info.context
    trust_of(ctx)
    party = ctx.caller.party
    assert party is not None
    found = await _visible_transfer(ctx, number)
    roles = roles_of(found.parties, party, found.requester_party)
    if not roles & _step_roles(step_action):
        need = " or ".join(sorted(str(r) for r in _step_roles(step_action)))
        raise WrongParty(f"only the {need} party of transfer {number} may "
                         f"{step_action.value} it")
    payload = STEP_ACTIONS[step_action](note=note)
    return Intent(payload, organization=found.org_of(party), member_key=found.member_key,
                  answers=found.id, effects=(step_effect(found.id, step_action),))


_NOTE = Annotated[str | None, strawberry.argument(description="说明。 A note.")]
_NUMBER = Annotated[int, strawberry.argument(description="转接编号。 Transfer number.")]


@strawberry.type
class TransfersQuery:
    @strawberry.field(description="组织关系转接列表：调用方参与、成员在其范围内的转接，新者在前。 "
                      "Membership transfers the caller takes part in, for members in its "
                      "scope; newest first.")
    async def membership_transfers(
        self, info: Info, filter: TransferFilter | None = None, first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[MembershipTransfer]:
        ctx: Context = info.context
        party = ctx.caller.party
        stmt = select(TransferRow).join(MemberRow, MemberRow.key == TransferRow.member_key)
        scope = ctx.decisions.member_scope()
        if party is None or isinstance(scope, ScopeByRow):
            stmt = stmt.where(false())
        else:
            stmt = stmt.where(or_(TransferRow.origin_party == party,
                                  TransferRow.receiving_party == party,
                                  TransferRow.branch_party == party,
                                  TransferRow.requester_party == party))
            if scope is not None:
                stmt = stmt.where(scope)
        f = filter or TransferFilter()
        if f.state is not None:
            stmt = stmt.where(TransferRow.state == f.state.value)
        if f.member_key is not None:
            stmt = stmt.where(TransferRow.member_key == str(f.member_key))
        if f.open is not None:
            stmt = stmt.where(TransferRow.open_key.is_not(None) if f.open
                              else TransferRow.open_key.is_(None))
        window = await fetch_window(ctx, stmt, (TransferRow.id.desc(),), first=first,
                                    after=after, last=last, before=before)
        return connection_of(window, [MembershipTransfer(_transfer=Transfer.from_row(r[0]))
                                      for r in window.rows])

    @strawberry.field(description="到期应办的成员（外出三个月应编入流入地党组织、六个月未转接应"
                      "编入流动党员党支部），按外出时间排序。 Members due for a step by the "
                      "articles' thresholds (3 months away: a destination branch; 6 months "
                      "without transfer: the floating-member branch), longest away first; "
                      "only members in the caller's scope.")
    async def members_due_for_step(
        self, info: Info, step: DueStepKind,
        as_of: Annotated[date | None, strawberry.argument(
            description="检查日（默认今天）。 The day to check for (default today, UTC).")
        ] = None,
        first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
    ) -> Connection[MemberDue]:
        ctx: Context = info.context
        due = DueStep(str(step.value))
        # attendance counts as evidence only from sources whose organisation-life records
        # the caller may see (its own, or granted `Member.activities` from their owner)
        sources = [e.name for e in ctx.runtime.registry
                   if ctx.decisions.aggregate_granted("Member", "activities", e.owner)]
        stmt, since = due_members(due, as_of or utcnow().date(), attendance_sources=sources)
        scope = ctx.decisions.member_scope()
        if ctx.caller.party is None or isinstance(scope, ScopeByRow):
            stmt = stmt.where(false())
        elif scope is not None:
            stmt = stmt.where(scope)
        window = await fetch_window(ctx, stmt, (since.c.since, MemberRow.key), first=first,
                                    after=after, last=last, before=before)
        rows = [r[0] for r in window.rows]
        members = {m.key: m for m in await members_from_rows(ctx, rows)}
        items = [MemberDue(step=step, away_since=r[1], _member=members[r[0].key])
                 for r in window.rows if r[0].key in members]
        return connection_of(window, items)


@strawberry.type
class TransfersMutation:
    @strawberry.mutation(description="申请组织关系转接（流出地、转入方或成员所在支部一方；需 "
                         "transfer 记录权限）。 Request a membership transfer to "
                         "`toOrganization` (by the origin, the receiving party or the party of "
                         "the member's branch; needs the `transfer` record permission).")
    @refusals_audited
    @ledger_action(REQUEST_ACTION, receipt=TransferReceipt)
    async def request_membership_transfer(
        self, info: Info, member_key: strawberry.ID,
        organization: Annotated[strawberry.ID, strawberry.argument(
            description="申请方记录所在的党组织（调用方的）。 The caller's organisation the "
            "request is recorded at.")],
        to_organization: Annotated[strawberry.ID, strawberry.argument(
            description="转入党组织。 The organisation the membership moves to.")],
        reason: Annotated[str | None, strawberry.argument(description="理由。 "
                                                          "Reason.")] = None,
    ) -> Intent:
        ctx: Context = info.context
        trust_of(ctx)
        party = ctx.caller.party
        assert party is not None
        payload = TransferRequest(to_organization=str(to_organization), reason=reason)
        payload.validate()
        code = check_org_code(str(organization), "organization")
        target_code = check_org_code(str(to_organization), "toOrganization")
        row = await ctx.loaders.member_rows.load(str(member_key))
        if row is None or await member_from_row(ctx, row) is None:
            ctx.access.refused()
            raise NotFound(f"no member with key {member_key!r}")
        target = await ctx.loaders.organizations.load(target_code)
        if target is None:
            ctx.access.refused()
            raise NotFound(f"no organisation with code {target_code!r}")
        if target.region_code is None:
            raise PayloadInvalid("toOrganization", "has no region in the index; a membership "
                                 "needs one")
        if target_code == row.origin_org_id:
            raise PayloadInvalid("toOrganization", "is already the member's membership "
                                 "organisation")
        origin_org = await ctx.loaders.organizations.load(row.origin_org_id) \
            if row.origin_org_id else None
        branch_org = await ctx.loaders.organizations.load(row.destination_org_id) \
            if row.destination_org_id else None
        parties = TransferParties(
            origin=organization_party(ctx, origin_org, prefer=party) if origin_org else None,
            receiving=organization_party(ctx, target, prefer=party),
            branch=organization_party(ctx, branch_org, prefer=party) if branch_org else None)
        if party not in (parties.origin, parties.receiving, parties.branch):
            raise WrongParty("a transfer is requested by the origin, the receiving party or "
                             "the party of the member's branch")
        effect = request_effect(from_org=row.origin_org_id, from_region=row.origin_region_code,
                                to_region=target.region_code, parties=parties)
        return Intent(payload, organization=code, member_key=str(member_key),
                      also_organizations=(target_code,), effects=(effect,))

    @strawberry.mutation(description="流出地同意转接（党籍管理）。 Approve a requested transfer "
                         "(the origin: 党籍管理 is the origin's).")
    @refusals_audited
    @ledger_action("transfer_approval", receipt=TransferReceipt)
    async def approve_membership_transfer(self, info: Info, transfer: _NUMBER,
                                          note: _NOTE = None) -> Intent:
        return await _step(info, transfer, TransferAction.APPROVE, note)

    @strawberry.mutation(description="转入方接收转接。 Accept an approved transfer (the "
                         "receiving party).")
    @refusals_audited
    @ledger_action("transfer_acceptance", receipt=TransferReceipt)
    async def accept_membership_transfer(self, info: Info, transfer: _NUMBER,
                                         note: _NOTE = None) -> Intent:
        return await _step(info, transfer, TransferAction.ACCEPT, note)

    @strawberry.mutation(description="流出地完成转接：索引中成员的组织关系与地区随之变更。 "
                         "Complete an accepted transfer (the origin): the member's membership "
                         "organisation and region change in the index.")
    @refusals_audited
    @ledger_action("transfer_completion", receipt=TransferReceipt)
    async def complete_membership_transfer(self, info: Info, transfer: _NUMBER,
                                           note: _NOTE = None) -> Intent:
        return await _step(info, transfer, TransferAction.COMPLETE, note)

    @strawberry.mutation(description="拒绝转接（流出地；同意后转入方亦可）。 Reject a transfer "
                         "(the origin; once approved, the receiving party too).")
    @refusals_audited
    @ledger_action("transfer_rejection", receipt=TransferReceipt)
    async def reject_membership_transfer(self, info: Info, transfer: _NUMBER,
                                         note: _NOTE = None) -> Intent:
        return await _step(info, transfer, TransferAction.REJECT, note)

    @strawberry.mutation(description="申请方撤回转接（接收前）。 Withdraw a transfer (the "
                         "requester, before acceptance).")
    @refusals_audited
    @ledger_action("transfer_withdrawal", receipt=TransferReceipt)
    async def withdraw_membership_transfer(self, info: Info, transfer: _NUMBER,
                                           note: _NOTE = None) -> Intent:
        return await _step(info, transfer, TransferAction.WITHDRAW, note)


QUERY_TYPES = (TransfersQuery,)
MUTATION_TYPES = (TransfersMutation,)
