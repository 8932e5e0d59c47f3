"""GraphQL for contracts: `contracts` (a party lists those it is party to).

Merged into the published schema by hub.api.schema (`QUERY_TYPES`). It needs the hub to run
under signed contracts (`Runtime.enforcement` is a `Trust`): without it `contracts` is empty.
The record actions the contracts allow are ledger mutations (hub.api.exchange).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import strawberry
from strawberry.types import Info

from hub.api.context import Context
from hub.contracts.lifecycle import SignatureInfo
from hub.contracts.store import ContractRecord
from hub.contracts.trust import Trust

__all__ = ["QUERY_TYPES", "MUTATION_TYPES", "ContractsQuery"]


@strawberry.type(description="协议的一方及其角色。 A party to a contract and its role "
                 "(origin 流出地, destination 流入地, observer).")
class ContractParty:
    party: str = strawberry.field(description="参与方 ID。 Party id.")
    role: str = strawberry.field(description="角色。 origin | destination | observer.")
    name: str | None = strawberry.field(
        default=None, description="参与方名称（信任注册表登记的名称，如“叙州区委组织部”）。 The "
        "party's name as the trust registry records it; null for a party it no longer lists.")


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
    def of(cls, record: ContractRecord, names: Mapping[str, str] | None = None) -> ContractInfo:
        """`names`: party id -> name, from the trust registry."""
        c = record.contract
        names = names or {}
        return cls(
            id=c.id, version=c.version, digest=c.digest, title=c.title,
            state=record.state.value,
            parties=[ContractParty(party=p, role=r.value, name=names.get(p))
                     for p, r in sorted(c.parties.items())],
            not_before=c.not_before, not_after=c.not_after, purposes=sorted(c.purposes),
            signatures=[ContractSignature.of(s) for _, s in sorted(record.signatures.items())],
            registrar=ContractSignature.of(record.registrar) if record.registrar else None,
            superseded_by=record.superseded_by, revoked_by=record.revoked_by,
            revoked_at=record.revoked_at,
        )


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
        names = {p.id: p.name for p in trust.registry.parties.values()}
        return [ContractInfo.of(r, names) for r in records]


QUERY_TYPES = (ContractsQuery,)
MUTATION_TYPES: tuple[type, ...] = ()
