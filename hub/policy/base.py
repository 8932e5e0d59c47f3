"""The one place every value passes on its way out of the hub.

Resolvers never return a source value directly: they ask the request's `Policy` what the caller
may see of it and apply the answer with `hub.policy.transforms.apply`. Stage 1 plugs in
`MaskingPolicy` (ID numbers and phones masked for everyone); stage 2 plugs in the contract
policy (hub.contracts), which decides per party, member, type and field from signed contracts.

Type and field names are those of the published GraphQL schema (`Member.idNumber`), because
contracts name fields of the published schema.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Caller", "Subject", "SubjectWithOwners", "Transform", "Policy", "ANONYMOUS"]


class Transform(enum.Enum):
    """How a value leaves the hub."""

    FULL = "full"        # as the source supplied it
    MASKED = "masked"    # 510521********1234, 138****5678
    HASHED = "hashed"    # keyed hash: joinable, not readable
    YEAR = "year"        # dates coarsened to the year
    DENY = "deny"        # null, with a CONTRACT_DENIED error


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the party (organisation department), its official, and why."""

    party: str | None
    user: str | None = None
    purpose: str | None = None
    token_id: str | None = None


ANONYMOUS = Caller(party=None)


@dataclass(frozen=True, slots=True)
class Subject:
    """The member whose data is at stake, as the index routes it (no personal data)."""

    member_key: str
    origin_org_id: str | None
    origin_region_code: str | None
    destination_region_code: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class SubjectWithOwners(Subject):
    """A `Subject` plus the parties owning the sources the member is linked to, so a policy
    can let a party always see its own sources' members (the API builds these)."""

    owners: frozenset[str] = frozenset()


@runtime_checkable
class Policy(Protocol):
    def denied_fields(
        self, caller: Caller, requested: Mapping[str, Set[str]]
    ) -> dict[str, set[str]]:
        """Before execution: of the requested `type -> fields`, those no rule could ever grant
        to this caller. A non-empty answer refuses the whole operation with CONTRACT_DENIED."""
        ...

    def can_see(self, caller: Caller, subject: Subject) -> bool:
        """Row scope: False makes the member 'not found' for this caller (no existence leak)."""
        ...

    def transform(
        self, caller: Caller, subject: Subject | None, type_name: str, field: str, owner: str | None
    ) -> Transform:
        """How this field's value leaves the hub. `owner` is the party owning the source that
        supplied the value (a party always sees its own sources' data)."""
        ...
