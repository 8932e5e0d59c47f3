"""GraphQL for the exchange ledger (hub.exchange): `ExchangeEntry` and the receipt every
ledger mutation returns (`ExchangeReceipt`: the entry and the node it changed).

Payload fields that carry member data (`Payload.policed`) leave as the contract grants the
(type, field) they stand for, from the recording party's data, to this member: a reported phone
number is read like `Member.phone`. The rest of an entry (action, organisations, parties, time)
is the ledger's own and shown to every caller that may see the entry at all (hub.api.exchange
decides which entries a caller sees).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from hub.api.types.node import to_global_id
from hub.api.types.scalars import JSON
from hub.exchange.ledger import Entry
from hub.policy.base import Subject, Transform
from hub.policy.transforms import apply

if TYPE_CHECKING:
    from hub.api.context import Context
    from hub.api.types.member import Member
    from hub.api.types.organization import Organization

__all__ = ["ExchangeEntry", "ExchangeReceipt", "policed_payload"]

_Member = Annotated["Member", strawberry.lazy("hub.api.types.member")]
_Organization = Annotated["Organization", strawberry.lazy("hub.api.types.organization")]


def policed_payload(ctx: Context, entry: Entry, subject: Subject | None) -> dict[str, Any]:
    """The entry's payload as this caller may read it: each policed field transformed as the
    (type, field) it stands for would be, from the recording party's data; denied fields
    are left out and named in `ctx.access` (audit)."""
    data = entry.payload.to_json()
    out: dict[str, Any] = {}
    for name, value in data.items():
        policed = entry.payload.policed.get(name)
        if policed is None:
            out[name] = value
            continue
        type_name, field = policed
        transform = ctx.decisions.transform(subject, type_name, field, entry.party)
        if transform is Transform.DENY:
            ctx.access.denied(f"{type_name}.{field}")
            continue
        out[name] = value if transform is Transform.FULL else apply(transform, field, value)
    return out


@strawberry.type(description="交换台账条目：一方依协议记录的一次操作（只追加，更正为新条目）。 "
                 "An exchange-ledger entry: one action a party recorded under its contracts "
                 "(append-only; a correction is a new entry that supersedes it).")
class ExchangeEntry:
    _entry: strawberry.Private[Entry]
    _subject: strawberry.Private[Subject | None] = None

    @strawberry.field(description="全局 ID。 Relay global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ExchangeEntry", str(self._entry.id)))

    @strawberry.field(description="台账编号（递增）。 Ledger number (increasing).")
    def number(self) -> int:
        return self._entry.id

    @strawberry.field(description="操作：checkin 报到、report 报告、report_confirmation 报告确认"
                      "等。 The action: checkin, report, report_confirmation, ...")
    def action(self) -> str:
        return self._entry.action

    @strawberry.field(description="成员键（身份证号的带密钥哈希）。 Member key (a keyed hash, "
                      "never an ID number); null for an action about no member.")
    def member_key(self) -> strawberry.ID | None:
        key = self._entry.member_key
        return strawberry.ID(key) if key is not None else None

    @strawberry.field(description="成员（调用方可见时）。 The member, when the caller may see "
                      "them.")
    async def member(self, info: Info) -> _Member | None:
        from hub.api.types.resolve import member_by_key

        return await member_by_key(info, self._entry.member_key)

    @strawberry.field(description="记录所在党组织。 Organisation it was recorded at.")
    async def organization(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        return await organization_by_code(info, self._entry.organization,
                                          fallback_name=self._entry.organization)

    @strawberry.field(description="涉及的全部党组织代码（记录所在者居首）。 Codes of every "
                      "organisation concerned, the recording one first.")
    def organizations(self) -> list[strawberry.ID]:
        return [strawberry.ID(o) for o in self._entry.organizations]

    @strawberry.field(description="记录方。 The recording party.")
    def party(self) -> str:
        return self._entry.party

    @strawberry.field(description="经办人（用户 ID）。 The official (user id) who recorded it.")
    def official(self) -> str | None:
        return self._entry.official

    @strawberry.field(description="记录时间（UTC）。 Recorded at (UTC).")
    def recorded_at(self) -> datetime:
        return self._entry.recorded_at

    @strawberry.field(description="授权此操作的协议摘要。 Digests of the contracts that "
                      "allowed it.")
    def contract_digests(self) -> list[str]:
        return list(self._entry.contracts)

    @strawberry.field(description="所回应的条目编号（如认领回应任务）。 Number of the entry "
                      "this one answers (a claim answers a task).")
    def answers(self) -> int | None:
        return self._entry.answers

    @strawberry.field(description="所更正的条目编号。 Number of the entry this one corrects.")
    def supersedes(self) -> int | None:
        return self._entry.supersedes

    @strawberry.field(description="按操作类型的内容；成员数据按协议授权显示。 The action's "
                      "payload; fields carrying member data leave as the contracts grant "
                      "them (a denied one is left out).")
    def payload(self, info: Info) -> JSON:
        return JSON(policed_payload(info.context, self._entry, self._subject))


@strawberry.type(description="记录操作的回执：台账条目及其改变的节点。 Receipt of a record "
                 "action: the ledger entry and the node it changed (for a client store).")
class ExchangeReceipt:
    entry: ExchangeEntry = strawberry.field(description="台账条目。 The ledger entry.")
    replayed: bool = strawberry.field(description="幂等重放：此键与相同输入已记录过，未新写"
                                      "条目。 True when the idempotency key had been used "
                                      "with this input: nothing new was written.")
    _member: strawberry.Private[Any] = None
    _organization: strawberry.Private[Any] = None

    @strawberry.field(description="改变的成员（调用方可见时）。 The member it changed, when "
                      "the caller may see them.")
    def member(self) -> _Member | None:
        return self._member  # type: ignore[no-any-return]

    @strawberry.field(description="改变的党组织。 The organisation it changed.")
    def organization(self) -> _Organization | None:
        return self._organization  # type: ignore[no-any-return]
