"""Confirmed report changes in the members' live values (workflow 2, 四个清楚).

A member reports a new address, employer or phone (hub.exchange.reports); once the origin has
confirmed it, the member's fields show the reported value wherever it is newer than what the
sources hold (their record's `updated_at`), until a source has a newer one (a synced update,
or the write-back of the change arriving in the system of record). The value is attributed to
a source of the party that recorded the report (the member's own link to it), so the policy
reads it as that party's data, as it reads the entry's payload; a report recorded by a party
without a source linked to the member changes nothing here (it shows in the ledger only).

Called by the details loader (hub.api.loaders) for the members of a batch that the index read
found reported (most have no report): one query for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select

from hub.api.context import Context
from hub.exchange.ledger import Entry, ExchangeEntryRow
from hub.exchange.reports import CHANGE_FIELDS, confirmed_changes
from hub.federation.fetch import Link, MergedMember
from hub.federation.merge import SourcedValue

__all__ = ["overlay_confirmed_reports", "OVERLAID", "REPORT_ACTIONS"]

#: the ledger actions the overlay reads (hub.api.loaders reads whether a member has any)
REPORT_ACTIONS = ("report", "report_confirmation")


#: the canonical fields a confirmed report can change (hub.exchange.reports.CHANGE_FIELDS)
OVERLAID = frozenset(c for fields in CHANGE_FIELDS.values() for c in fields.values())


async def overlay_confirmed_reports(ctx: Context, members: Mapping[str, MergedMember],
                                    links: Mapping[str, Sequence[Link]],
                                    fields: frozenset[str] | None = None) -> None:
    """`fields`: the canonical fields the request reads (None: all); nothing to do (no
    query) when none of them is one a report changes."""
    if fields is not None and not fields & OVERLAID:
        return
    keys = sorted(k for k, m in members.items() if isinstance(m, MergedMember))
    if not keys:
        return
    async with ctx.runtime.session_factory() as session:
        rows = list(await session.scalars(select(ExchangeEntryRow).where(
            ExchangeEntryRow.member_key.in_(keys),
            ExchangeEntryRow.action.in_(REPORT_ACTIONS))
            .order_by(ExchangeEntryRow.id)))
    if not rows:
        return
    by_member: dict[str, list[Entry]] = {}
    for row in rows:
        by_member.setdefault(row.member_key or "", []).append(Entry.from_row(row))
    registry = ctx.runtime.registry
    for key, entries in by_member.items():
        merged = members.get(key)
        if merged is None:
            continue
        for canonical, confirmed in confirmed_changes(entries).items():
            party = confirmed.report.party
            source = next((link.source for link in links.get(key, ())
                           if registry.owner_of(link.source) == party), None)
            entry = registry.get(source) if source is not None else None
            if source is None or entry is None:
                continue
            winner = merged.values.get(canonical)
            if winner is not None and winner.updated_at is not None and \
                    winner.updated_at >= confirmed.confirmed_at:
                continue
            merged.values[canonical] = SourcedValue(source, entry.side, confirmed.value,
                                                    confirmed.confirmed_at)
