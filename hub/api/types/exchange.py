"""GraphQL for the exchange ledger (hub.exchange): `ExchangeEntry` and the receipt every
ledger mutation returns (`ExchangeReceipt`: the entry and the node it changed).

Payload fields that carry member data (`Payload.policed`) leave as the contract grants the
(type, field) they stand for, from the recording party's data, to this member: a reported phone
number is read like `Member.phone`. The rest of an entry (action, organisations, parties, time)
is the ledger's own and shown to every caller that may see the entry at all (hub.api.exchange
decides which entries a caller sees).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, false, func, or_, select, true
from strawberry.types import Info

from hub.api.context import Context
from hub.api.inputs import BadUserInput, check_org_code
from hub.api.scope import subject_of
from hub.api.types.keyset import keyset_connection, keyset_window
from hub.api.types.node import to_global_id
from hub.api.types.pagination import Connection
from hub.api.types.resolve import owners_of_links
from hub.api.types.scalars import JSON
from hub.exchange.ledger import Entry, ExchangeEntryRow
from hub.exchange.payloads import ACTIONS
from hub.policy.base import ScopeByRow, Subject, Transform
from hub.policy.transforms import apply
from hub.store.models import MemberRow

if TYPE_CHECKING:
    from hub.api.types.member import Member
    from hub.api.types.organization import Organization

__all__ = ["ExchangeEntry", "ExchangeReceipt", "ExchangeEntryFilter", "ExchangeQuery",
           "policed_payload", "visible_entries", "entry_subjects", "QUERY_TYPES",
           "MUTATION_TYPES"]

_Member = Annotated["Member", strawberry.lazy("hub.api.types.member")]
_Organization = Annotated["Organization", strawberry.lazy("hub.api.types.organization")]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def policed_payload(ctx: Context, entry: Entry, subject: Subject | None) -> dict[str, Any]:
    """The entry's payload as this caller may read it, with camelCase keys like the rest of
    the schema: each policed field transformed as the (type, field) it stands for would be,
    from the recording party's data; denied fields are left out and named in `ctx.access`
    (audit)."""
    data = entry.payload.to_json()
    out: dict[str, Any] = {}
    for name, value in data.items():
        policed = entry.payload.policed.get(name)
        if policed is None:
            out[_camel(name)] = value
            continue
        type_name, field = policed
        transform = ctx.decisions.transform(subject, type_name, field, entry.party)
        if transform is Transform.DENY:
            ctx.access.denied(f"{type_name}.{field}")
            continue
        out[_camel(name)] = value if transform is Transform.FULL else \
            apply(transform, field, value)
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

        return await organization_by_code(info, self._entry.organization)

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
                      "payload as a JSON object with camelCase keys; fields carrying member "
                      "data leave as the contracts grant them (a denied one is left out).")
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


# ------------------------------------------------------------ Query.exchangeEntries

_MEMBER_KEY = re.compile(r"[0-9a-f]{64}")
_PARTY = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def visible_entries(ctx: Context) -> ColumnElement[bool]:
    """The entries a caller may see, in SQL: those its party made, those about members in
    its row scope (its contracts' scope, its own sources' members), and those about no
    member made by a party it shares an applicable contract with. A policy that cannot say
    its scope in SQL (SCOPE_BY_ROW) narrows to the caller's own entries and the member-less
    ones of its counterparties."""
    party = ctx.caller.party
    clauses: list[ColumnElement[bool]] = []
    if party is not None:
        clauses.append(ExchangeEntryRow.party == party)
    scope = ctx.decisions.member_scope()
    if scope is None:
        clauses.append(ExchangeEntryRow.member_key.is_not(None))
    elif not isinstance(scope, ScopeByRow):
        clauses.append(ExchangeEntryRow.member_key.in_(select(MemberRow.key).where(scope)))
    parties = ctx.decisions.counterparties()
    if parties:
        clauses.append(ExchangeEntryRow.member_key.is_(None)
                       & ExchangeEntryRow.party.in_(sorted(parties)))
    elif party is None and scope is None:
        clauses.append(ExchangeEntryRow.member_key.is_(None))  # no contracts: an open index
    return or_(false(), *clauses)


async def entry_subjects(ctx: Context, entries: Sequence[Entry]) -> dict[str, Subject]:
    """The policy subject of each member the entries are about (with its sources' owners),
    batched; a member no longer indexed has none."""
    keys = sorted({e.member_key for e in entries if e.member_key is not None})
    found = await ctx.loaders.member_index.load_many(keys)
    return {key: subject_of(index.row, owners_of_links(ctx, index.links))
            for key, index in zip(keys, found) if index.row is not None}


@strawberry.input(description="交换台账筛选条件（均为可选，同时给出时取交集）。 Filter for "
                  "exchange-ledger entries; every field optional, all given must match.")
class ExchangeEntryFilter:
    actions: list[str] | None = strawberry.field(
        default=None, description="操作类型之一。 Any of these actions (checkin, report, ...).")
    member_key: strawberry.ID | None = strawberry.field(
        default=None, description="关于此成员。 About this member (member key).")
    organization: strawberry.ID | None = strawberry.field(
        default=None, description="涉及此党组织。 Concerning this organisation (recorded "
        "there or named).")
    party: str | None = strawberry.field(default=None, description="记录方。 Recorded by "
                                         "this party.")
    answers: int | None = strawberry.field(default=None, description="回应此条目者。 Entries "
                                           "answering this entry number.")
    since: datetime | None = strawberry.field(default=None, description="记录时间不早于。 "
                                              "Recorded at or after.")
    until: datetime | None = strawberry.field(default=None, description="记录时间早于。 "
                                              "Recorded before.")


def _conditions(f: ExchangeEntryFilter | None) -> list[ColumnElement[bool]]:
    if f is None:
        return []
    out: list[ColumnElement[bool]] = []
    if f.actions is not None:
        unknown = sorted(set(f.actions) - set(ACTIONS))
        if unknown:
            raise BadUserInput(f"filter.actions: unknown action {unknown[0]!r}; one of "
                               f"{', '.join(sorted(ACTIONS))}")
        out.append(ExchangeEntryRow.action.in_(sorted(set(f.actions))))
    if f.member_key is not None:
        if not _MEMBER_KEY.fullmatch(str(f.member_key)):
            raise BadUserInput("filter.memberKey: a member key is 64 hexadecimal digits")
        out.append(ExchangeEntryRow.member_key == str(f.member_key))
    if f.organization is not None:
        code = check_org_code(str(f.organization), "filter.organization")
        # codes carry no LIKE pattern characters or quotes (check_org_code)
        out.append(or_(ExchangeEntryRow.organization == code,
                       ExchangeEntryRow.organizations.contains(f'"{code}"')))
    if f.party is not None:
        if not _PARTY.fullmatch(f.party):
            raise BadUserInput("filter.party: a party id (lower-case letters, digits, - _)")
        out.append(ExchangeEntryRow.party == f.party)
    if f.answers is not None:
        out.append(ExchangeEntryRow.answers == f.answers)
    if f.since is not None:
        out.append(ExchangeEntryRow.recorded_at >= f.since)
    if f.until is not None:
        out.append(ExchangeEntryRow.recorded_at < f.until)
    return out


@strawberry.type
class ExchangeQuery:
    @strawberry.field(description="交换台账条目（按编号递增；last 取最新）。 Exchange-ledger "
                      "entries the caller may see: those its party made, and those about "
                      "members its contracts cover; in ledger order (`last` gives the "
                      "newest).")
    async def exchange_entries(
        self, info: Info, filter: ExchangeEntryFilter | None = None,
        first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[ExchangeEntry]:
        ctx: Context = info.context
        limits = ctx.runtime.limits
        window = keyset_window("ExchangeEntry", first, after, last, before,
                               default=limits.default_page_size,
                               maximum=limits.max_page_size)
        where = [visible_entries(ctx), *_conditions(filter)]
        column = ExchangeEntryRow.id
        stmt = select(ExchangeEntryRow).where(*where)
        async with ctx.runtime.session_factory() as session:
            rows = list(await session.scalars(
                stmt.where(window.where(column)).order_by(window.order(column))
                .limit(window.fetch)))
        entries = [Entry.from_row(r) for r in rows]
        subjects = await entry_subjects(ctx, entries)
        party = ctx.caller.party
        shown = [e for e in entries
                 if e.party == party or e.member_key is None or
                 (e.member_key in subjects and ctx.decisions.can_see(subjects[e.member_key]))]
        ctx.access.touched(e.member_key for e in shown[:window.size] if e.member_key)

        async def count() -> int:
            async with ctx.runtime.session_factory() as session:
                return int(await session.scalar(
                    select(func.count()).select_from(ExchangeEntryRow).where(*where, true()))
                    or 0)

        nodes = [ExchangeEntry(_entry=e, _subject=subjects.get(e.member_key or ""))
                 for e in shown]
        return keyset_connection(window, nodes, lambda n: n._entry.id, count)


QUERY_TYPES = (ExchangeQuery,)
MUTATION_TYPES: tuple[type, ...] = ()
