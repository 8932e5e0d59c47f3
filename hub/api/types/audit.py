"""GraphQL for the audit log: `accessLog` (owning party only) and `auditHead` (every party).

`accessLog`: a party may ask about members held in a source it owns; asking about any other
member is CONTRACT_DENIED, worded the same whether the member exists or not (no existence
leak).

`auditHead`: the latest checkpoint the hub signed (size, head hash, time, key id and the JWS
itself). A party stores it; later, `yanxing audit verify --since-head FILE` proves the log only
grew since (the chain still holds that entry with that hash), so the hub operator cannot
rewrite or truncate the past without every party that kept a head noticing.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from hub.api.context import Context
from hub.audit.log import AuditEntry
from hub.clock import parse_time
from hub.contracts.trust import Trust
from hub.errors import AccessDenied, RequestError
from hub.jws import parse_compact

__all__ = ["QUERY_TYPES", "AuditQuery", "AccessLogEntry", "AuditHead", "MAX_KEYS"]

#: member keys per `accessLog` call
MAX_KEYS = 100


@strawberry.type(description="一次访问决定（审计日志条目）。 One access decision from the "
                 "tamper-evident audit log.")
class AccessLogEntry:
    seq: int = strawberry.field(description="日志序号。 Sequence number in the log.")
    at: datetime = strawberry.field(description="时间。 When.")
    party: str | None = strawberry.field(description="访问方。 Party that asked.")
    user: str | None = strawberry.field(description="经办人。 The official's user id.")
    purpose: str | None = strawberry.field(description="用途。 Stated purpose.")
    decision: str = strawberry.field(description="决定。 allowed | partial | denied | rejected.")
    contract_digests: list[str] = strawberry.field(description="依据的协议。 Contracts relied on.")
    member_keys: list[strawberry.ID] = strawberry.field(
        description="涉及的（所问）成员。 Members asked about that it touched.")
    fields_allowed: list[str] = strawberry.field(description="允许的字段。 Fields allowed.")
    fields_denied: list[str] = strawberry.field(description="拒绝的字段。 Fields denied.")

    @classmethod
    def of(cls, entry: AuditEntry, asked: set[str]) -> AccessLogEntry:
        return cls(
            seq=entry.seq, at=entry.at, party=entry.party, user=entry.user,
            purpose=entry.purpose, decision=entry.decision.value,
            contract_digests=list(entry.contract_digests),
            member_keys=[strawberry.ID(k) for k in entry.member_keys if k in asked],
            fields_allowed=list(entry.fields_allowed), fields_denied=list(entry.fields_denied),
        )


@strawberry.type(description="审计日志的最新签名检查点。 The latest hub-signed checkpoint of the "
                 "audit log: keep it, and present it later to `yanxing audit verify "
                 "--since-head FILE` to prove the log only grew.")
class AuditHead:
    sequence: int = strawberry.field(description="所覆盖的最后一条日志序号。 Sequence number of "
                                     "the last entry covered (the log's size then).")
    hash: str = strawberry.field(description="该条目的哈希（链头）。 Hash of that entry: the "
                                 "head of the chain.")
    at: datetime = strawberry.field(description="签名时间。 When the hub signed it.")
    kid: str = strawberry.field(description="枢纽签名密钥。 Key id of the hub key that signed it.")
    jws: str = strawberry.field(description="枢纽签名（JWS 紧凑格式）。 The hub's signature: a "
                                "compact JWS over {size, head, at, every}; this is what verify "
                                "checks.")


@strawberry.type
class AuditQuery:
    @strawberry.field(description="审计日志的最新签名检查点（尚无则为空）。 The latest signed "
                      "checkpoint of the audit log (null before the first).")
    async def audit_head(self, info: Info) -> AuditHead | None:
        ctx: Context = info.context
        trust = ctx.runtime.enforcement
        if not isinstance(trust, Trust) or ctx.caller.party is None:
            ctx.access.refused()
            raise AccessDenied("the audit head needs the hub to run under signed contracts",
                               fields=["Query.auditHead"])
        row = await trust.audit_log.latest_checkpoint()
        if row is None:
            return None
        jws = parse_compact(row.signed)
        return AuditHead(sequence=row.size, hash=row.head_hash,
                         at=parse_time(jws.payload["at"]), kid=jws.kid, jws=row.signed)

    @strawberry.field(description="谁访问了这些成员（仅限其数据源的所属方查询）。 Who accessed "
                      "these members; only the party owning a source holding each of them may "
                      "ask.")
    async def access_log(self, info: Info, member_keys: list[strawberry.ID]) -> list[
            AccessLogEntry]:
        ctx: Context = info.context
        trust = ctx.runtime.enforcement
        if not isinstance(trust, Trust) or ctx.caller.party is None:
            raise AccessDenied("the access log needs the hub to run under signed contracts",
                               fields=["Query.accessLog"])
        keys = sorted({str(k) for k in member_keys})
        if len(keys) > MAX_KEYS:
            raise RequestError(f"at most {MAX_KEYS} member keys per call")
        links = await ctx.loaders.member_links.load_many(keys)
        owner_of = ctx.runtime.registry.owner_of
        owners = {k: {o for o in (owner_of(link.source) for link in ls) if o}
                  for k, ls in zip(keys, links)}
        try:
            entries = await trust.audit_log.access_log(ctx.caller.party, keys, owners=owners)
        except AccessDenied as exc:
            ctx.access.refused("Query.accessLog")
            raise AccessDenied(str(exc), fields=["Query.accessLog"]) from None
        entries = ctx.bounded(list(entries), ctx.runtime.limits.max_list_size,
                              "Query.accessLog", info.path, keep_last=True)
        return [AccessLogEntry.of(e, set(keys)) for e in entries]


QUERY_TYPES = (AuditQuery,)
