"""GraphQL for write-back (hub.exchange.outbox): `ExchangeEntry.deliveries`, where each ledger
entry says whether it reached the systems of record (回写状态).

A delivery is shown to whoever may see its entry (the entry's own field, so hub.api.exchange's
scoping of entries applies); it carries the source's name, a state, counts and the source's
error text as the outbox stored it (digits masked, no record values). The deliveries of one
request's entries are read in one query per batch (a DataLoader per request).
"""

from __future__ import annotations

import enum
import weakref
from datetime import datetime

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from hub.api.context import Context
from hub.exchange.outbox import Delivery, deliveries_of

__all__ = ["ExchangeDelivery", "DeliveryStateEnum", "deliveries_for"]


@strawberry.enum(name="DeliveryState", description="回写状态。 Write-back state of one entry "
                 "to one system of record.")
class DeliveryStateEnum(enum.Enum):
    PENDING = strawberry.enum_value("pending", description="待投递（含重试中）。 Queued, or "
                                    "waiting for its next attempt.")
    DELIVERED = strawberry.enum_value("delivered", description="已写入该系统。 Written into "
                                      "the system.")
    FAILED = strawberry.enum_value("failed", description="失败（系统拒绝或多次重试未成）；见 "
                                   "lastError。 Failed: refused by the system, or too many "
                                   "attempts; see lastError.")
    NOT_APPLICABLE = strawberry.enum_value(
        "not_applicable", description="该系统不接受写入：条目仅保存在枢纽台账。 The system "
        "cannot take this write: the entry stays in the hub's ledger only (see reason).")


@strawberry.type(name="ExchangeDelivery", description="台账条目回写到一个业务系统的状态。 "
                 "Delivery of a ledger entry into one system of record (write-back).")
class ExchangeDelivery:
    source: str = strawberry.field(description="目标系统名。 The system of record (source "
                                   "name).")
    state: DeliveryStateEnum = strawberry.field(description="回写状态。 Delivery state.")
    reason: str | None = strawberry.field(description="不适用的原因。 Why it does not apply "
                                          "(NOT_APPLICABLE only).")
    attempts: int = strawberry.field(description="已尝试次数。 Attempts made.")
    last_error_code: str | None = strawberry.field(
        description="最近一次错误代码。 Code of the last attempt's error (SOURCE_UNAVAILABLE, "
        "SOURCE_REJECTED ...).")
    last_error: str | None = strawberry.field(description="最近一次错误（系统原文，数字已遮盖）。 "
                                              "The last attempt's error, as the system said "
                                              "it (digits masked).")
    next_attempt_at: datetime | None = strawberry.field(
        description="下次尝试时间。 When the next attempt is due (PENDING only).")
    delivered_at: datetime | None = strawberry.field(description="写入时间。 When it was "
                                                     "written.")
    remote_id: str | None = strawberry.field(description="该系统中的记录号。 The system's own "
                                             "id of the row it made, when it said.")

    @classmethod
    def of(cls, delivery: Delivery) -> ExchangeDelivery:
        return cls(
            source=delivery.source, state=DeliveryStateEnum(delivery.state),
            reason=delivery.reason, attempts=delivery.attempts,
            last_error_code=delivery.last_error_code, last_error=delivery.last_error,
            next_attempt_at=delivery.next_attempt_at if delivery.state == "pending" else None,
            delivered_at=delivery.delivered_at, remote_id=delivery.remote_id,
        )


_LOADERS: weakref.WeakKeyDictionary[Context, DataLoader[int, list[Delivery]]] = \
    weakref.WeakKeyDictionary()


def _loader(ctx: Context) -> DataLoader[int, list[Delivery]]:
    loader = _LOADERS.get(ctx)
    if loader is None:
        sessions = ctx.runtime.session_factory

        async def load(ids: list[int]) -> list[list[Delivery]]:
            found = await deliveries_of(sessions, ids)
            return [found[i] for i in ids]

        loader = _LOADERS[ctx] = DataLoader(load_fn=load)
    return loader


async def deliveries_for(info: Info, entry_id: int) -> list[ExchangeDelivery]:
    """The entry's deliveries, one per system of record, by source name."""
    ctx: Context = info.context
    return [ExchangeDelivery.of(d) for d in await _loader(ctx).load(entry_id)]
