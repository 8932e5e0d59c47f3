"""GraphQL for workflow 7, obligations: `obligations`, the scheduled instances of the
obligations in the caller's contracts (每季度通联流动党员台账, 年终发函, ...), each due,
fulfilled (by a ledger entry) or overdue (hub.exchange.schedule).

A party sees the instances it owes and those owed to it; an observer of a contract all of
that contract's. Nothing here is about a person: an instance names parties and a period.
"""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from hub.api.context import Context
from hub.api.types.pagination import Connection, relay_window
from hub.clock import utcnow
from hub.contracts.trust import Trust
from hub.exchange.obligations import obligations_for
from hub.exchange.schedule import ObligationInstance

__all__ = ["QUERY_TYPES", "Obligation", "ObligationFilter", "obligation_instances_for"]


@strawberry.enum(description="义务实例状态。 State of an obligation instance.")
class ObligationState(enum.Enum):
    DUE = strawberry.enum_value("due", description="待履行（宽限期未过） due: not fulfilled, "
                                "the grace period has not ended")
    FULFILLED = strawberry.enum_value("fulfilled", description="已履行（有台账条目） fulfilled "
                                      "by a ledger entry")
    OVERDUE = strawberry.enum_value("overdue", description="逾期（宽限期已过） overdue: the "
                                    "grace period has ended")


@strawberry.type(description="协议义务的一次实例（如某季度的台账通联）。 One scheduled instance "
                 "of a contract obligation (e.g. one quarter's 通联流动党员台账).")
class Obligation:
    _i: strawberry.Private[ObligationInstance]

    @strawberry.field(description="稳定标识：协议、义务、义务方、期间。 Stable id: contract, "
                      "obligation, obligated party, period.")
    def key(self) -> str:
        return self._i.key

    @strawberry.field(description="协议 ID。 Contract id.")
    def contract_id(self) -> str:
        return self._i.contract_id

    @strawberry.field(description="协议名称。 Contract title.")
    def contract_title(self) -> str:
        return self._i.contract_title

    @strawberry.field(description="协议摘要。 Contract digest.")
    def contract_digest(self) -> str:
        return self._i.contract_digest

    @strawberry.field(description="履行方式（台账操作）：reconciliation 对账、evaluation_letter "
                      "年终发函。 The ledger action that fulfils it.")
    def action(self) -> str:
        return self._i.what

    @strawberry.field(description="说明，如“每季度通联流动党员台账”。 Description, e.g. "
                      "每季度通联流动党员台账.")
    def description(self) -> str:
        return self._i.description

    @strawberry.field(description="周期：monthly、quarterly、yearly。 Schedule.")
    def schedule(self) -> str:
        return self._i.schedule

    @strawberry.field(description="义务方。 The obligated party.")
    def party(self) -> str:
        return self._i.party

    @strawberry.field(description="对象方。 The parties it is owed to.")
    def to(self) -> list[str]:
        return list(self._i.to)

    @strawberry.field(description="期间开始（北京时间零点，UTC 表示）。 Start of the period.")
    def period_start(self) -> datetime:
        return self._i.period_start

    @strawberry.field(description="到期（期间结束）。 Due at the end of the period.")
    def due_at(self) -> datetime:
        return self._i.due_at

    @strawberry.field(description="宽限期截止。 End of the grace period.")
    def grace_until(self) -> datetime:
        return self._i.grace_until

    @strawberry.field(description="状态。 State.")
    def state(self) -> ObligationState:
        return ObligationState(self._i.state.value)

    @strawberry.field(description="履行的台账条目编号。 Ledger number of the entry that "
                      "fulfilled it.")
    def fulfilled_by(self) -> int | None:
        return self._i.fulfilled_by

    @strawberry.field(description="履行时间。 When that entry was recorded.")
    def fulfilled_at(self) -> datetime | None:
        return self._i.fulfilled_at


@strawberry.input(description="义务筛选。 Obligation filter.")
class ObligationFilter:
    state: ObligationState | None = strawberry.field(default=None, description="状态。 State.")
    contract_id: str | None = strawberry.field(default=None, description="协议 ID。 Contract "
                                               "id.")
    action: str | None = strawberry.field(default=None, description="履行方式。 Ledger action "
                                          "(reconciliation, evaluation_letter).")


async def obligation_instances_for(ctx: Context,
                                   now: datetime | None = None) -> list[ObligationInstance]:
    """The caller's obligation instances (none without contracts or party)."""
    enforcement = ctx.runtime.enforcement
    party = ctx.caller.party
    if not isinstance(enforcement, Trust) or party is None:
        return []
    now = now or utcnow()
    records = await enforcement.store.for_party(party, now=now)
    records = [r for r in records if ctx.caller.purpose in r.contract.purposes]
    return await obligations_for(ctx.runtime.session_factory, records, now, party=party)


@strawberry.type
class ObligationsQuery:
    @strawberry.field(description="本方协议义务的各期实例（待履行、已履行、逾期），新的期间在前。 "
                      "Scheduled instances of the obligations in the caller's contracts (due, "
                      "fulfilled, overdue), newest period first: those it owes or is owed; an "
                      "observer sees all of a contract it observes.")
    async def obligations(self, info: Info, filter: ObligationFilter | None = None,
                          first: int | None = None, after: str | None = None,
                          last: int | None = None, before: str | None = None,
                          ) -> Connection[Obligation]:
        ctx: Context = info.context
        f = filter or ObligationFilter()
        found = [i for i in await obligation_instances_for(ctx)
                 if (f.state is None or i.state.value == str(f.state.value))
                 and (f.contract_id is None or i.contract_id == f.contract_id)
                 and (f.action is None or i.what == f.action)]

        async def count() -> int:
            return len(found)

        limits = ctx.runtime.limits
        offset, limit = await relay_window(first, after, last, before,
                                           default=limits.default_page_size,
                                           maximum=limits.max_page_size, count=count)
        items = [Obligation(_i=i) for i in found[offset:offset + limit + 1]]
        return Connection.build(items, offset, limit, count)


QUERY_TYPES = (ObligationsQuery,)
