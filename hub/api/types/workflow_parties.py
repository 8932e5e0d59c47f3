"""Who a workflow step belongs to, found from the index and the trust registry.

An organisation belongs to the parties whose sources hold it (its provenance), as
hub.api.exchange.may_record_at reads it; where no source of any party holds it (an origin
branch known only from the destination's records), to the registry party whose regions cover
its region most narrowly. A member's origin party is the party of its membership
organisation (组织关系); its branch party that of its destination branch.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from strawberry.types import Info

from hub.api.context import Context
from hub.contracts.model import region_prefix
from hub.contracts.trust import Trust
from hub.errors import AccessDenied, HubError
from hub.store.models import OrganizationRow

__all__ = ["trust_of", "organization_parties", "organization_party", "region_party",
           "refusals_audited"]

P = ParamSpec("P")
R = TypeVar("R")


def trust_of(ctx: Context) -> Trust:
    """The hub's Trust; the workflows need signed contracts (CONTRACT_DENIED without)."""
    enforcement = ctx.runtime.enforcement
    if not isinstance(enforcement, Trust) or ctx.caller.party is None:
        ctx.access.refused()
        raise AccessDenied("the workflows need the hub to run under signed contracts and a "
                           "party token")
    return enforcement


def organization_parties(ctx: Context, org: OrganizationRow | None) -> set[str]:
    if org is None:
        return set()
    owner_of = ctx.runtime.registry.owner_of
    return {p for p in (owner_of(str(s.get("system", ""))) for s in (org.sources or [])
                        if isinstance(s, dict)) if p}


def region_party(ctx: Context, region: str | None) -> str | None:
    """The registry party whose regions cover `region` most narrowly (None if none does)."""
    enforcement = ctx.runtime.enforcement
    if region is None or not isinstance(enforcement, Trust):
        return None
    best: tuple[int, str] | None = None
    for party in enforcement.registry.parties.values():
        for code in party.region_codes:
            prefix = region_prefix(code)
            if region.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), party.id)
    return best[1] if best else None


def organization_party(ctx: Context, org: OrganizationRow | None, *,
                       prefer: str | None = None) -> str | None:
    """The one party an organisation belongs to: `prefer` when it is one of its holders, else
    the only holder, else the party of its region."""
    holders = organization_parties(ctx, org)
    if prefer is not None and prefer in holders:
        return prefer
    if len(holders) == 1:
        return next(iter(holders))
    return region_party(ctx, org.region_code if org is not None else None)


def refusals_audited(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Record a workflow refusal (wrong party, state conflict, bad signature) as a denial on
    the request's audit entry, as the ledger guard does for its own refusals. Stack it above
    `@ledger_action` (it keeps the guard's signature)."""

    @functools.wraps(resolver)
    async def audited(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await resolver(*args, **kwargs)
        except HubError as exc:
            info = kwargs.get("info")
            if isinstance(info, Info) and exc.code not in ("BAD_USER_INPUT",
                                                            "IDEMPOTENCY_CONFLICT"):
                info.context.access.refused(f"Mutation.{info.field_name}")
            raise

    return audited
