"""`Subscription.exchangeEvents(kinds, organization)`: ledger entries as they are recorded.

Served over graphql-transport-ws (hub.api.ws). Each event is an `ExchangeEntry`, policed like
`exchangeEntries`: the caller receives only entries its party made or whose member its
contracts cover (`visible_entries`, then `can_see` on the member), payload fields as the
contracts grant and mask them. The caller's token and policy are checked again for every
batch of new entries, so a contract revoked, a key revoked or a token expired while a
subscription runs stops its events. Each event is
audited by the WebSocket endpoint like one query.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from sqlalchemy import select, true
from strawberry.types import Info

from hub.api.access import AccessRecorder
from hub.api.context import Context
from hub.api.inputs import BadUserInput, check_org_code
from hub.api.runtime import Runtime
from hub.api.types.exchange import ExchangeEntry, entry_subjects, visible_entries
from hub.errors import AccessDenied
from hub.exchange.feed import LedgerFeed
from hub.exchange.ledger import Entry, ExchangeEntryRow
from hub.exchange.payloads import ACTIONS

__all__ = ["ExchangeSubscription", "SUBSCRIPTION_TYPES", "feed_of"]

#: entries read per batch; a subscriber far behind catches up batch by batch
_BATCH = 100
#: how far behind its position a subscription looks again: on PostgreSQL an entry's number
#: is taken before its transaction commits, so a lower number can appear after a higher one
#: was read; those are sent late rather than never (the ones already handled are skipped)
_LOOKBACK = 100

def feed_of(runtime: Runtime) -> LedgerFeed:
    """The process's one ledger feed for this runtime."""
    if runtime.feed is None:
        runtime.feed = LedgerFeed(runtime.session_factory)
    return runtime.feed


async def _refresh_policy(ctx: Context) -> None:
    """Check the caller again (its key may have been revoked, its token may have expired:
    AuthenticationError ends the subscription with UNAUTHENTICATED), ask the enforcement for
    its policy again (contracts may have changed since the subscription began) and forget
    what the last batch cached."""
    enforcement = ctx.runtime.enforcement
    if enforcement is not None:
        await enforcement.revalidate(ctx.request)
        ctx.policy = await enforcement.policy_for(ctx.caller)
    for cached in ("decisions", "loaders"):
        ctx.__dict__.pop(cached, None)


@strawberry.type
class ExchangeSubscription:
    @strawberry.subscription(description="交换台账新条目（按记录顺序实时推送；仅调用方可见者，"
                             "成员数据按协议授权显示）。 New exchange-ledger entries as they "
                             "are recorded, in ledger order: only those the caller may see "
                             "(its own, and those about members its contracts cover), payload "
                             "fields as the contracts grant them.")
    async def exchange_events(
        self, info: Info,
        kinds: Annotated[list[str] | None, strawberry.argument(
            description="只推送这些操作（checkin、report ...）。 Only these actions.")] = None,
        organization: Annotated[strawberry.ID | None, strawberry.argument(
            description="只推送涉及此党组织者。 Only entries concerning this organisation.")
        ] = None,
    ) -> AsyncGenerator[ExchangeEntry, None]:
        ctx: Context = info.context
        if kinds is not None:
            unknown = sorted(set(kinds) - set(ACTIONS))
            if unknown or not kinds:
                raise BadUserInput(f"kinds: unknown action {unknown[0]!r}; one of "
                                   f"{', '.join(sorted(ACTIONS))}" if unknown else
                                   "kinds: name at least one action, or leave it out")
        code = check_org_code(str(organization), "organization") \
            if organization is not None else None
        if ctx.runtime.enforcement is not None and ctx.caller.party is None:
            raise AccessDenied("exchangeEvents needs a party token", fields=[
                "Subscription.exchangeEvents"])
        feed = feed_of(ctx.runtime)
        position = await feed.latest()
        start = position
        handled: deque[int] = deque(maxlen=4 * _LOOKBACK)
        while True:
            newest = await feed.wait_beyond(position)
            await _refresh_policy(ctx)
            since = max(start, position - _LOOKBACK)
            stmt = select(ExchangeEntryRow).where(
                visible_entries(ctx), ExchangeEntryRow.id > since,
                ExchangeEntryRow.id <= newest,
                ExchangeEntryRow.id.not_in(list(handled)) if handled else true())
            if kinds is not None:
                stmt = stmt.where(ExchangeEntryRow.action.in_(sorted(set(kinds))))
            if code is not None:
                # codes carry no LIKE pattern characters or quotes (check_org_code)
                stmt = stmt.where((ExchangeEntryRow.organization == code)
                                  | ExchangeEntryRow.organizations.contains(f'"{code}"'))
            async with ctx.runtime.session_factory() as session:
                rows = list(await session.scalars(
                    stmt.order_by(ExchangeEntryRow.id).limit(_BATCH)))
            # a full batch: more may follow right away; else everything up to `newest` is read
            after = max(position, rows[-1].id) if len(rows) == _BATCH else newest
            entries = [Entry.from_row(r) for r in rows]
            subjects = await entry_subjects(ctx, entries)
            party = ctx.caller.party
            for entry in entries:
                handled.append(entry.id)
                subject = subjects.get(entry.member_key or "")
                if not (entry.party == party or entry.member_key is None
                        or (subject is not None and ctx.decisions.can_see(subject))):
                    continue
                ctx.access = AccessRecorder()
                if entry.member_key:
                    ctx.access.touched([entry.member_key])
                yield ExchangeEntry(_entry=entry, _subject=subject)
            position = after


SUBSCRIPTION_TYPES = (ExchangeSubscription,)
