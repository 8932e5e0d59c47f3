"""GraphQL for contracts: `contracts` (a party lists those it is party to) and the first
record action, `recordCheckIn` (报到), allowed only by a contract's `record` permission.

Merged into the published schema by hub.api.schema (`QUERY_TYPES`, `MUTATION_TYPES`). Both
need the hub to run under signed contracts (`Runtime.enforcement` is a `Trust`): without it
`contracts` is empty and `recordCheckIn` is refused.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from hub.api.context import Context
from hub.api.inputs import check_org_code
from hub.api.types.resolve import member_from_row
from hub.contracts.exchange import MAX_NOTE, record_checkin
from hub.contracts.lifecycle import SignatureInfo
from hub.contracts.store import ContractRecord
from hub.contracts.trust import Trust
from hub.errors import AccessDenied, NotFound, RequestError
from hub.policy.base import Subject
from hub.store.models import OrganizationRow

__all__ = ["QUERY_TYPES", "MUTATION_TYPES", "ContractsQuery", "ContractsMutation"]


@strawberry.type(description="协议的一方及其角色。 A party to a contract and its role "
                 "(origin 流出地, destination 流入地, observer).")
class ContractParty:
    party: str = strawberry.field(description="参与方 ID。 Party id.")
    role: str = strawberry.field(description="角色。 origin | destination | observer.")


@strawberry.type(description="一个签名。 One signature on the contract.")
class ContractSignature:
    party: str = strawberry.field(description="签名方。 Signing party (or the hub).")
    kid: str = strawberry.field(description="签名密钥 ID。 Key id.")
    signed_at: datetime = strawberry.field(description="签署时间。 When it was signed.")

    @classmethod
    def of(cls, info: SignatureInfo) -> ContractSignature:
        return cls(party=info.party, kid=info.kid, signed_at=info.signed_at)


@strawberry.type(name="Contract", description="数据交换协议（双向共管协议），各方签名。 A signed "
                 "data-exchange contract (双向共管协议) and its state.")
class ContractInfo:
    id: str = strawberry.field(description="协议 ID。 Contract id.")
    version: int = strawberry.field(description="版本。 Version.")
    digest: str = strawberry.field(description="RFC 8785 规范化文本的摘要。 Digest of the "
                                   "canonical text.")
    title: str = strawberry.field(description="协议名称。 The agreement's own name.")
    state: str = strawberry.field(description="状态。 proposed | partially_signed | active | "
                                  "superseded | expired | revoked.")
    parties: list[ContractParty] = strawberry.field(description="各方。 Parties and roles.")
    not_before: datetime = strawberry.field(description="生效时间。 Valid from.")
    not_after: datetime = strawberry.field(description="失效时间。 Valid until.")
    purposes: list[str] = strawberry.field(description="允许的用途。 Allowed purposes.")
    signatures: list[ContractSignature] = strawberry.field(
        description="各方签名。 The parties' signatures.")
    registrar: ContractSignature | None = strawberry.field(
        description="枢纽登记签名。 The hub's registrar signature.")
    superseded_by: str | None = strawberry.field(description="被哪个版本取代。 Successor digest.")
    revoked_by: str | None = strawberry.field(description="撤销方。 Party that revoked it.")
    revoked_at: datetime | None = strawberry.field(description="撤销生效时间。 Revoked at.")

    @classmethod
    def of(cls, record: ContractRecord) -> ContractInfo:
        c = record.contract
        return cls(
            id=c.id, version=c.version, digest=c.digest, title=c.title,
            state=record.state.value,
            parties=[ContractParty(party=p, role=r.value) for p, r in sorted(c.parties.items())],
            not_before=c.not_before, not_after=c.not_after, purposes=sorted(c.purposes),
            signatures=[ContractSignature.of(s) for _, s in sorted(record.signatures.items())],
            registrar=ContractSignature.of(record.registrar) if record.registrar else None,
            superseded_by=record.superseded_by, revoked_by=record.revoked_by,
            revoked_at=record.revoked_at,
        )


@strawberry.type(description="报到记录回执。 Receipt of a recorded check-in (报到).")
class CheckInReceipt:
    id: int = strawberry.field(description="记录编号。 Ledger entry id.")
    member_key: strawberry.ID = strawberry.field(description="成员键。 Member key.")
    organization: strawberry.ID = strawberry.field(description="报到的党组织。 Organisation "
                                                   "checked in with.")
    party: str = strawberry.field(description="记录方。 Recording party.")
    recorded_at: datetime = strawberry.field(description="记录时间。 Recorded at (UTC).")
    contract_digests: list[str] = strawberry.field(description="依据的协议。 Contracts relied on.")


def _may_record_at(ctx: Context, subject: Subject, org: OrganizationRow) -> bool:
    """A check-in is the recording party's own act at one of its organisations: one that a
    source it owns holds (the organisation's provenance), or that a contract applying to
    this member names. Never another party's branch (a Hangzhou branch for 成都, or an
    origin branch of 叙州)."""
    party = ctx.caller.party
    owner_of = ctx.runtime.registry.owner_of
    holders = {owner_of(str(s.get("system", ""))) for s in (org.sources or [])
               if isinstance(s, dict)}
    if party is not None and party in holders:
        return True
    return ctx.decisions.names_organization(subject, org.org_id)


def _trust(ctx: Context) -> Trust | None:
    enforcement = ctx.runtime.enforcement
    return enforcement if isinstance(enforcement, Trust) else None


@strawberry.type
class ContractsQuery:
    @strawberry.field(description="调用方参与的协议（含状态与签名）。 Contracts the calling party "
                      "is party to, in any state, with their signatures.")
    async def contracts(self, info: Info) -> list[ContractInfo]:
        ctx: Context = info.context
        trust = _trust(ctx)
        if trust is None or ctx.caller.party is None:
            return []
        records = ctx.bounded(await trust.store.for_party(ctx.caller.party),
                              ctx.runtime.limits.max_list_size, "Query.contracts", info.path)
        return [ContractInfo.of(r) for r in records]


@strawberry.type
class ContractsMutation:
    @strawberry.mutation(description="记录成员向党组织报到（需协议授予 checkin 记录权限）。 Record "
                         "that a member checked in (报到) with an organisation; needs a "
                         "contract's `checkin` record permission for this member.")
    async def record_check_in(
        self, info: Info, member_key: strawberry.ID, organization: strawberry.ID,
        note: str | None = None,
    ) -> CheckInReceipt:
        ctx: Context = info.context
        trust = _trust(ctx)
        decisions = ctx.decisions
        if trust is None or not decisions.grants_records:
            ctx.access.refused()
            raise AccessDenied("recording needs the hub to run under signed contracts",
                               fields=["Mutation.recordCheckIn"])
        if note is not None and len(note) > MAX_NOTE:
            raise RequestError(f"note is over {MAX_NOTE} characters")
        code = check_org_code(str(organization), "organization")
        member = await member_from_row(ctx, await ctx.loaders.member_rows.load(str(member_key)))
        if member is None:
            ctx.access.refused()
            raise NotFound(f"no member with key {member_key!r}")
        org = await ctx.loaders.organizations.load(code)
        if org is None:
            ctx.access.refused()
            raise NotFound(f"no organisation with code {code!r}")
        subject = member._subject
        if not decisions.can_record(subject, "checkin"):
            ctx.access.refused("Mutation.recordCheckIn")
            raise AccessDenied(
                "no active contract grants this party the `checkin` record permission for "
                "this member", fields=["Mutation.recordCheckIn"])
        if not _may_record_at(ctx, subject, org):
            ctx.access.refused("Mutation.recordCheckIn")
            raise AccessDenied(
                f"this party may record only at organisations its own sources hold or that a "
                f"contract names; {code!r} is neither", fields=["Mutation.recordCheckIn"])
        assert ctx.caller.party is not None
        digests = decisions.contract_digests(subject)
        entry = await record_checkin(
            ctx.runtime.session_factory, member_key=str(member_key),
            organization=str(organization), note=note, party=ctx.caller.party,
            user=ctx.caller.user, contracts=digests,
        )
        return CheckInReceipt(
            id=entry.id, member_key=strawberry.ID(entry.member_key),
            organization=strawberry.ID(entry.organization), party=entry.party,
            recorded_at=entry.recorded_at, contract_digests=list(entry.contracts),
        )


QUERY_TYPES = (ContractsQuery,)
MUTATION_TYPES = (ContractsMutation,)
