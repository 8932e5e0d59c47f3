"""Who may run, read, decide and sign a reconciliation: a party of the run, under an active
contract between the two parties (one origin, the other destination) that grants it the
`reconciliation` record permission and does not prohibit it, for the token's purpose — asked
of the request's policy point (`Decisions.agreements`), never of a policy directly. The scope a
run compares must lie inside that contract's scope, so even the counts never cover members the
contract does not."""

from __future__ import annotations

from hub.contracts.model import region_covers
from hub.errors import AccessDenied
from hub.policy.base import Agreement
from hub.policy.decisions import Decisions
from hub.reconcile.matching import RowScope

__all__ = ["ACTION", "reconciliation_agreements", "roles_in", "check_scope"]

ACTION = "reconciliation"


def roles_in(a: Agreement, caller: str, counterparty: str) -> tuple[str, str] | None:
    """(origin party, destination party) when the two hold opposite sides in `a`."""
    mine, theirs = a.roles.get(caller), a.roles.get(counterparty)
    if mine == "origin" and theirs == "destination":
        return caller, counterparty
    if mine == "destination" and theirs == "origin":
        return counterparty, caller
    return None


def reconciliation_agreements(decisions: Decisions, counterparty: str) -> list[Agreement]:
    """The contracts under which the caller may reconcile with `counterparty`, by id."""
    return decisions.agreements(counterparty, ACTION)


def check_scope(a: Agreement, scope: RowScope) -> RowScope:
    """The run's scope: the contract's when none is given; else every code given must lie
    inside the contract's scope (AccessDenied naming the first that does not)."""
    if not (scope.origin_org_ids or scope.origin_region_codes or scope.destination_region_codes):
        return RowScope(tuple(sorted(a.origin_org_ids)), tuple(a.origin_region_codes),
                        tuple(a.destination_region_codes))
    for code in scope.origin_region_codes:
        if not any(region_covers(s, code) for s in a.origin_region_codes):
            raise AccessDenied(f"origin region {code} is outside contract {a.id}'s scope")
    for org in scope.origin_org_ids:
        if org not in a.origin_org_ids:
            raise AccessDenied(f"origin organisation {org} is outside contract {a.id}'s scope")
    for code in scope.destination_region_codes:
        if a.destination_region_codes and not any(
                region_covers(s, code) for s in a.destination_region_codes):
            raise AccessDenied(f"destination region {code} is outside contract {a.id}'s scope")
    destinations = scope.destination_region_codes or tuple(a.destination_region_codes)
    return RowScope(scope.origin_org_ids, scope.origin_region_codes, destinations)
