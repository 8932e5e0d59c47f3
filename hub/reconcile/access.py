"""Who may run, read, decide and sign a reconciliation: a party of the run, under an active
contract between the two parties that grants it the `reconciliation` record permission (and
does not prohibit it), for the token's purpose. The scope a run compares must lie inside that
contract's scope, so even the counts never cover members the contract does not."""

from __future__ import annotations

from hub.contracts.model import Contract, Role, region_covers
from hub.contracts.policy import ContractPolicy
from hub.errors import AccessDenied
from hub.policy.base import Caller
from hub.reconcile.matching import RowScope

__all__ = ["ACTION", "reconciliation_contracts", "roles_in", "check_scope"]

ACTION = "reconciliation"


def _grants(c: Contract, party: str) -> bool:
    if any(c.matches(ref, party) for ref in c.record_prohibitions.get(ACTION, ())):
        return False
    return any(c.matches(ref, party) for ref in c.record.get(ACTION, ()))


def roles_in(c: Contract, caller: str, counterparty: str) -> tuple[str, str] | None:
    """(origin party, destination party) when the two hold opposite sides in `c`."""
    a, b = c.parties.get(caller), c.parties.get(counterparty)
    if a is Role.ORIGIN and b is Role.DESTINATION:
        return caller, counterparty
    if a is Role.DESTINATION and b is Role.ORIGIN:
        return counterparty, caller
    return None


def reconciliation_contracts(policy: ContractPolicy, caller: Caller,
                             counterparty: str) -> list[Contract]:
    """Active contracts (for the caller's purpose) under which the caller may reconcile with
    `counterparty`, by contract id."""
    party = caller.party
    if party is None or counterparty == party:
        return []
    return sorted((c for c in policy.applicable(caller)
                   if roles_in(c, party, counterparty) is not None and _grants(c, party)),
                  key=lambda c: (c.id, c.version))


def check_scope(c: Contract, scope: RowScope) -> RowScope:
    """The run's scope: the contract's when none is given; else every code given must lie
    inside the contract's scope (AccessDenied naming the first that does not)."""
    if not (scope.origin_org_ids or scope.origin_region_codes or scope.destination_region_codes):
        return RowScope(tuple(sorted(c.scope.origin_org_ids)),
                        tuple(c.scope.origin_region_codes),
                        tuple(c.scope.destination_region_codes))
    for code in scope.origin_region_codes:
        if not any(region_covers(s, code) for s in c.scope.origin_region_codes):
            raise AccessDenied(f"origin region {code} is outside contract {c.id}'s scope")
    for org in scope.origin_org_ids:
        if org not in c.scope.origin_org_ids:
            raise AccessDenied(f"origin organisation {org} is outside contract {c.id}'s scope")
    for code in scope.destination_region_codes:
        if c.scope.destination_region_codes and not any(
                region_covers(s, code) for s in c.scope.destination_region_codes):
            raise AccessDenied(f"destination region {code} is outside contract {c.id}'s scope")
    destinations = scope.destination_region_codes or tuple(c.scope.destination_region_codes)
    return RowScope(scope.origin_org_ids, scope.origin_region_codes, destinations)
