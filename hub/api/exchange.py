"""The one guard of every ledger mutation: `@ledger_action(action)`.

A workflow's mutation resolver only says WHAT is to be recorded: it returns an `Intent`
(typed payload, organisation, member key, the entry it answers or supersedes, effects on the
index). The decorator does everything else, the same way for every action:

1. refuses unless the hub runs under signed contracts (CONTRACT_DENIED);
2. validates the payload (BAD_USER_INPUT naming the field; nothing written);
3. resolves the member (NOT_FOUND when unknown or out of the caller's scope: no existence
   leak) and the organisation (NOT_FOUND);
4. requires the action's record permission from an active contract whose scope covers the
   member (`Decisions.can_record`), and that the organisation is the caller's own (a
   source it owns holds it) or named by a contract for this member (CONTRACT_DENIED);
   every refusal is recorded on `ctx.access` and so audited as denied;
5. appends the entry with its idempotency key (`idempotencyKey` argument, added to every
   decorated mutation, or the `Idempotency-Key` header) and its own audit decision in one
   transaction (hub.exchange.ledger.append), with the intent's effects; `supersedes` (also
   added to every decorated mutation) makes it a correction of one of the party's entries;
6. returns the receipt: the entry, and the member and organisation as nodes.

The `Idempotency-Key` header applies to every ledger mutation of the operation: an operation
with two of them under one header gets IDEMPOTENCY_CONFLICT for the second (give each its own
`idempotencyKey` argument instead).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

import strawberry
from strawberry.types import Info

from hub.api.context import Context
from hub.api.extensions.audit import audit_failure_cause
from hub.api.inputs import check_org_code
from hub.api.types.exchange import ExchangeEntry, ExchangeReceipt
from hub.api.types.member import Member
from hub.api.types.organization import Organization
from hub.api.types.resolve import member_from_row
from hub.audit.log import AuditEvent, Decision
from hub.audit.privacy import operation_hash
from hub.contracts.trust import Trust
from hub.errors import AccessDenied, HubError, NotFound
from hub.exchange.errors import LedgerUnavailable
from hub.exchange.ledger import Draft, Effect, Entry, append
from hub.exchange.payloads import Payload, spec_of
from hub.policy.base import Subject
from hub.store.models import OrganizationRow

__all__ = ["Intent", "ledger_action", "IDEMPOTENCY_HEADER", "may_record_at"]

log = logging.getLogger("hub.exchange")

IDEMPOTENCY_HEADER = "idempotency-key"


@dataclass(frozen=True, slots=True)
class Intent:
    """What a ledger mutation asks to record; the guard checks and appends it."""

    payload: Payload
    #: the organisation it is recorded at (the caller's own, or one a contract names)
    organization: str
    member_key: str | None = None
    #: further organisations concerned (e.g. a transfer's destination), recorded after it
    also_organizations: tuple[str, ...] = ()
    #: an action about several members (an activity's attendance, hub.exchange.orglife),
    #: recorded with `member_key` None: each needs the permission and a contract naming the
    #: organisation, as one member would; the audit decision lists them all
    also_members: tuple[str, ...] = ()
    answers: int | None = None
    supersedes: int | None = None
    #: changes to the index made in the entry's transaction
    effects: tuple[Effect, ...] = ()


def _write_back(ctx: Context) -> tuple[Effect, ...]:
    """The outbox's effect (hub.exchange.outbox): the entry's deliveries to the systems of
    record are queued in its own transaction, when any source takes writes."""
    outbox = ctx.runtime.outbox
    return (outbox.effect(),) if outbox is not None else ()


def may_record_at(ctx: Context, subject: Subject | None, org: OrganizationRow) -> bool:
    """A party records at one of its own organisations: one that a source it owns holds (the
    organisation's provenance), or that a contract applying to this member names. Never
    another party's branch (a Hangzhou branch for 成都, or an origin branch of 叙州)."""
    party = ctx.caller.party
    owner_of = ctx.runtime.registry.owner_of
    holders = {owner_of(str(s.get("system", ""))) for s in (org.sources or [])
               if isinstance(s, dict)}
    if party is not None and party in holders:
        return True
    if subject is None:
        return False  # an action about no member: only at the party's own organisations
    return ctx.decisions.names_organization(subject, org.org_id)


def _trust(ctx: Context) -> Trust | None:
    enforcement = ctx.runtime.enforcement
    return enforcement if isinstance(enforcement, Trust) else None


P = ParamSpec("P")
R = TypeVar("R", bound=ExchangeReceipt)

_KEY_ARGUMENT = inspect.Parameter(
    "idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None,
    annotation=Annotated[str | None, strawberry.argument(description=(
        "幂等键：同键同输入只记录一次。 Idempotency key, unique per party: the same key with "
        "the same input records once and answers the same entry; with other input it is "
        "IDEMPOTENCY_CONFLICT. The `Idempotency-Key` header sets it too."))])


_SUPERSEDES_ARGUMENT = inspect.Parameter(
    "supersedes", inspect.Parameter.KEYWORD_ONLY, default=None,
    annotation=Annotated[int | None, strawberry.argument(description=(
        "更正：此条目取代本方的第几号条目（同一操作、同一成员；原条目保留）。 Correction: the "
        "number of this party's own entry (same action and member) this one replaces; the "
        "old entry stays in the ledger, superseded."))])


def ledger_action(
    action: str, *, receipt: type[R] = ExchangeReceipt,  # type: ignore[assignment]
) -> Callable[[Callable[P, Awaitable[Intent]]], Callable[P, Awaitable[R]]]:
    """Make a resolver returning an `Intent` a guarded ledger mutation answering `receipt`.

    The resolver takes `info: Info` (by that name) and any arguments of its own; the
    decorator adds `idempotencyKey` and `supersedes`. Stack it under `@strawberry.mutation`."""
    spec = spec_of(action)

    def decorate(resolver: Callable[P, Awaitable[Intent]]) -> Callable[P, Awaitable[R]]:
        signature = inspect.signature(resolver)
        if "info" not in signature.parameters:
            raise TypeError(f"{resolver.__name__} must take `info: Info`")

        async def guarded(*args: Any, idempotency_key: str | None = None,
                          supersedes: int | None = None, **kwargs: Any) -> R:
            info: Info = kwargs["info"] if "info" in kwargs else \
                signature.bind_partial(*args, **kwargs).arguments["info"]
            intent = await resolver(*args, **kwargs)
            if type(intent.payload) is not spec.payload:
                raise TypeError(f"{resolver.__name__} must record a {spec.payload.__name__}")
            if supersedes is not None:
                intent = dataclasses.replace(intent, supersedes=supersedes)
            return await _record(info, spec.name, spec.permission, intent, idempotency_key,
                                 receipt)

        params = [*signature.parameters.values(), _KEY_ARGUMENT, _SUPERSEDES_ARGUMENT]
        guarded.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=params, return_annotation=receipt)
        guarded.__name__ = resolver.__name__
        guarded.__qualname__ = resolver.__qualname__
        guarded.__module__ = resolver.__module__
        guarded.__doc__ = resolver.__doc__
        # the mark tests/exchange look for: every Mutation field is a guarded ledger action
        guarded.__ledger_action__ = spec.name  # type: ignore[attr-defined]
        guarded.__annotations__ = {**resolver.__annotations__,
                                   "idempotency_key": _KEY_ARGUMENT.annotation,
                                   "supersedes": _SUPERSEDES_ARGUMENT.annotation,
                                   "return": receipt}
        return guarded  # type: ignore[return-value]

    return decorate


async def _check_members(ctx: Context, keys: tuple[str, ...], permission: str,
                         org_row: OrganizationRow, field: str) -> tuple[str, ...]:
    """Every member of an action about several (`Intent.also_members`) as one member would
    be checked: known and in scope (NOT_FOUND naming the first that is not), the permission,
    the organisation; the digests of every contract relied on."""
    from hub.api.types.resolve import members_from_rows

    rows = await ctx.loaders.member_rows.load_many(list(keys))
    known = [r for r in rows if r is not None]
    members = {str(m.key): m for m in await members_from_rows(ctx, known)}
    decisions = ctx.decisions
    digests: set[str] = set()
    for key in keys:
        member = members.get(key)
        if member is None:
            ctx.access.refused()
            raise NotFound(f"no member with key {key!r}")
        subject = member._subject
        if not decisions.can_record(subject, permission):
            ctx.access.refused(field)
            raise AccessDenied(f"no active contract grants this party the `{permission}` "
                               f"record permission for member {key!r}", fields=[field],
                               member_key=key)
        if not may_record_at(ctx, subject, org_row):
            ctx.access.refused(field)
            raise AccessDenied(f"this party may not record member {key!r} at "
                               f"{org_row.org_id!r}", fields=[field], member_key=key)
        digests.update(decisions.contract_digests(subject))
    return tuple(sorted(digests))


async def _record(info: Info, action: str, permission: str, intent: Intent,
                  idempotency_key: str | None, receipt: type[R]) -> R:
    ctx: Context = info.context
    field = f"Mutation.{info.field_name}"
    trust = _trust(ctx)
    decisions = ctx.decisions
    if trust is None or not decisions.grants_records or ctx.caller.party is None:
        ctx.access.refused(field)
        raise AccessDenied("recording needs the hub to run under signed contracts",
                           fields=[field])
    party = ctx.caller.party
    intent.payload.validate()
    if idempotency_key is None and ctx.request is not None:
        idempotency_key = ctx.request.headers.get(IDEMPOTENCY_HEADER)
    code = check_org_code(intent.organization, "organization")
    for other in intent.also_organizations:
        check_org_code(other, "organization")
    member: Member | None = None
    subject: Subject | None = None
    if intent.member_key is not None:
        member = await member_from_row(
            ctx, await ctx.loaders.member_rows.load(intent.member_key))
        if member is None:
            ctx.access.refused()
            raise NotFound(f"no member with key {intent.member_key!r}")
        subject = member._subject
    org_row = await ctx.loaders.organizations.load(code)
    if org_row is None:
        ctx.access.refused()
        raise NotFound(f"no organisation with code {code!r}")
    if not decisions.can_record(subject, permission):
        ctx.access.refused(field)
        raise AccessDenied(
            f"no active contract grants this party the `{permission}` record permission "
            + ("for this member" if subject is not None else "at all"), fields=[field])
    if not may_record_at(ctx, subject, org_row):
        ctx.access.refused(field)
        raise AccessDenied(
            f"this party may record only at organisations its own sources hold or that a "
            f"contract names; {code!r} is neither", fields=[field])
    digests = tuple(decisions.contract_digests(subject))
    if intent.also_members:
        digests = await _check_members(ctx, intent.also_members, permission, org_row, field)
    draft = Draft(
        payload=intent.payload, organizations=(code, *intent.also_organizations),
        party=party, member_key=intent.member_key, official=ctx.caller.user,
        purpose=ctx.caller.purpose, contracts=digests, idempotency_key=idempotency_key,
        answers=intent.answers, supersedes=intent.supersedes,
        effects=(*intent.effects, *_write_back(ctx)))
    document, operation_name = ctx.access.operation

    def event(entry: Entry) -> AuditEvent:
        return AuditEvent(
            at=entry.recorded_at, party=party, user=ctx.caller.user,
            purpose=ctx.caller.purpose, decision=Decision.ALLOWED,
            operation_hash=operation_hash(document or "", operation_name),
            contract_digests=digests,
            member_keys=[entry.member_key] if entry.member_key else
            list(intent.also_members),
            fields_allowed=[field], entry=entry.id, action=action)

    try:
        appended = await append(trust.audit_log, draft, event)
    except HubError:
        raise
    except Exception as exc:
        # as the audit extension does: the cause without the row, the SQL or a traceback
        log.error("ledger write failed, nothing recorded (party %s): %s", party,
                  audit_failure_cause(exc))
        raise LedgerUnavailable("the hub cannot write its ledger and audit log right now, so "
                                "nothing was recorded; try again later with the same "
                                "idempotency key") from None
    if intent.effects and member is not None:
        # the answer shows the member as changed: read its row again
        ctx.loaders.member_index.clear(member.key)  # member_rows reads through it
        ctx.loaders.member_rows.clear(member.key)
        member = await member_from_row(ctx, await ctx.loaders.member_rows.load(member.key))
    ctx.loaders.organizations.clear(code)
    organization = Organization(code=strawberry.ID(code),
                                _row=await ctx.loaders.organizations.load(code))
    return receipt(entry=ExchangeEntry(_entry=appended.entry, _subject=subject),
                   replayed=appended.replayed, _member=member, _organization=organization)
