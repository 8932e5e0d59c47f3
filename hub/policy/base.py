"""The one place every value passes on its way out of the hub.

Resolvers never return a source value directly: they ask the request's `Policy` what the caller
may see of it and apply the answer with `hub.policy.transforms.apply`. A hub without
contracts plugs in `MaskingPolicy` (ID numbers and phones masked for everyone); a hub under
`[trust]` plugs in the contract policy (hub.contracts), which decides per party, member, type
and field from signed contracts.

Type and field names are those of the published GraphQL schema (`Member.idNumber`), because
contracts name fields of the published schema.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    from sqlalchemy.sql import ColumnElement

__all__ = ["Caller", "Subject", "SubjectWithOwners", "Agreement", "Transform", "Policy",
           "BasePolicy",
           "ANONYMOUS", "SCOPE_BY_ROW", "RowScope", "FieldTable"]


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


@dataclass(frozen=True, slots=True)
class Agreement:
    """A rule set between parties as plain values (a signed contract, for ContractPolicy):
    what a party-level act such as a reconciliation (hub.reconcile) runs under."""

    id: str
    digest: str
    #: party id -> role (origin, destination, observer)
    roles: Mapping[str, str]
    origin_org_ids: frozenset[str] = frozenset()
    origin_region_codes: tuple[str, ...] = ()
    destination_region_codes: tuple[str, ...] = ()


class ScopeByRow:
    """The answer of a policy that cannot say its row scope in SQL: lists are filtered member
    by member with `can_see` (correct, slower). A singleton: `SCOPE_BY_ROW`."""

    _instance: ScopeByRow | None = None

    def __new__(cls) -> ScopeByRow:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SCOPE_BY_ROW"


SCOPE_BY_ROW: Final = ScopeByRow()

#: a row scope: a SQL condition over the rows' columns, None for "every row", or SCOPE_BY_ROW
RowScope: TypeAlias = "ColumnElement[bool] | ScopeByRow | None"
#: (GraphQL type, field) -> the canonical source fields it is made of (hub.api.extensions.fields)
FieldTable: TypeAlias = Mapping[tuple[str, str], Sequence[str]]


@runtime_checkable
class Policy(Protocol):
    """Everything the hub asks its one policy point. Callers use these members and nothing
    else (a test walks `hub/` for probes): a policy that cannot answer one inherits the open
    answer of `BasePolicy`, so no caller has a branch for "this policy does not say"."""

    #: can this policy ever grant a record action (`can_record`)? The API refuses recording
    #: outright, naming why, under a policy that cannot (only contracts grant records).
    grants_records: bool
    #: does `transform` keep its own answers for as long as it serves, by something that
    #: many members share (their routing facts)? The request's `Decisions` then asks it
    #: directly instead of keeping one answer per member (hub.policy.decisions).
    memoizes_transforms: bool

    def denied_fields(
        self, caller: Caller, requested: Mapping[str, Set[str]]
    ) -> dict[str, set[str]]:
        """Before execution: of the requested `type -> fields`, those no rule could ever grant
        to this caller. A non-empty answer refuses the whole operation with CONTRACT_DENIED."""
        ...

    def filter_allowed(self, caller: Caller, type_name: str, field: str, *,
                       routing: str | None = None, value: str | None = None) -> bool:
        """Before execution: may the caller filter a list on `type_name.field`? A filter with
        `totalCount` reveals the field for every row it ranges over. `routing` / `value`: the
        scope dimension the filter compares and the value, when it is a routing filter."""
        ...

    def filter_refused_by(self, caller: Caller, type_name: str, field: str, *,
                          routing: str | None = None, value: str | None = None
                          ) -> tuple[str, ...]:
        """The titles of the agreements behind a refused filter (for the error a person
        reads); empty when none is (or the filter is allowed)."""
        ...

    def can_see(self, caller: Caller, subject: Subject) -> bool:
        """Row scope: False makes the member 'not found' for this caller (no existence leak)."""
        ...

    def scope_filter(self, caller: Caller) -> RowScope:
        """`can_see` over `MemberRow` columns, so lists and counts never include members the
        caller may not see; None when unrestricted; SCOPE_BY_ROW when it cannot be said in
        SQL (the list is then filtered member by member)."""
        ...

    def issue_scope_filter(self, caller: Caller) -> ColumnElement[bool] | None:
        """Which data-quality issues the caller may list, over `DataIssueRow` columns; None
        when every issue is listed."""
        ...

    def transform(
        self, caller: Caller, subject: Subject | None, type_name: str, field: str, owner: str | None
    ) -> Transform:
        """How this field's value leaves the hub. `owner` is the party owning the source that
        supplied the value (a party always sees its own sources' data)."""
        ...

    def readable_fields(self, caller: Caller, owner: str | None,
                        table: FieldTable) -> frozenset[str] | None:
        """Of the canonical fields of `table`, those the caller may read from `owner`'s
        sources (the API asks each source for no others); None when this policy does not
        narrow what is read (each source is asked for everything the query needs)."""
        ...

    def aggregate_granted(self, caller: Caller, type_name: str, field: str,
                          owner: str | None) -> bool:
        """May the caller see `owner`'s aggregate `type_name.field` (an activity's attendance
        figures, a source's sync counts) as recorded? Otherwise the API counts only what
        the caller may see."""
        ...

    def max_members_per_request(self, caller: Caller) -> int | None:
        """A limit on the members' details one request may read, below the hub's own
        (`limits.max_members_per_request`); None for no further limit."""
        ...

    def contract_digests(self, caller: Caller, subject: Subject | None = None) -> list[str]:
        """Digests of the contracts the caller's decisions relied on (for the audit log)."""
        ...

    def can_record(self, caller: Caller, subject: Subject | None, action: str) -> bool:
        """May the caller record `action` (checkin, attendance, ...) for this member? With
        `subject` None: an action about no member (a task published), allowed by any rule
        that applies to the caller."""
        ...

    def names_organization(self, caller: Caller, subject: Subject, code: str) -> bool:
        """Does a rule that applies to the caller and this member name organisation `code`
        (where a party may record besides its own sources' organisations)?"""
        ...

    def counterparties(self, caller: Caller) -> frozenset[str]:
        """The parties (the caller's own included) of the rules that apply to the caller:
        whose records about no member (a published task) the caller may see."""

    def statistics_scope(self, caller: Caller) -> RowScope:
        """The members whose aggregates (never the persons) the caller may ask for, over
        `MemberRow` columns: an observer's (e.g. a provincial department) every member of the
        contracts it observes; anyone else's, its own row scope. None when unrestricted."""
        ...

    def agreements(self, caller: Caller, counterparty: str, action: str) -> list[Agreement]:
        """The rule sets between the caller and `counterparty`, one origin and the other
        destination, that grant the caller record `action` for the act as a whole (a
        reconciliation of their ledgers), by id."""
        ...


class BasePolicy:
    """The open answer to every question of `Policy`: every field, every member, every
    filter, values in full, nothing recorded. Policies extend it and override what they
    decide (MaskingPolicy masks a few fields; ContractPolicy decides everything from signed
    contracts). Row scope defaults to SCOPE_BY_ROW, not "everyone": a subclass that narrows
    `can_see` but says nothing about SQL is filtered row by row and never over-counts."""

    grants_records: bool = False
    memoizes_transforms: bool = False

    def denied_fields(
        self, caller: Caller, requested: Mapping[str, Set[str]]
    ) -> dict[str, set[str]]:
        return {}

    def filter_allowed(self, caller: Caller, type_name: str, field: str, *,
                       routing: str | None = None, value: str | None = None) -> bool:
        return True

    def filter_refused_by(self, caller: Caller, type_name: str, field: str, *,
                          routing: str | None = None, value: str | None = None
                          ) -> tuple[str, ...]:
        return ()

    def can_see(self, caller: Caller, subject: Subject) -> bool:
        return True

    def scope_filter(self, caller: Caller) -> RowScope:
        return SCOPE_BY_ROW

    def issue_scope_filter(self, caller: Caller) -> ColumnElement[bool] | None:
        return None

    def transform(
        self, caller: Caller, subject: Subject | None, type_name: str, field: str, owner: str | None
    ) -> Transform:
        return Transform.FULL

    def readable_fields(self, caller: Caller, owner: str | None,
                        table: FieldTable) -> frozenset[str] | None:
        return None

    def aggregate_granted(self, caller: Caller, type_name: str, field: str,
                          owner: str | None) -> bool:
        return True

    def max_members_per_request(self, caller: Caller) -> int | None:
        return None

    def contract_digests(self, caller: Caller, subject: Subject | None = None) -> list[str]:
        return []

    def can_record(self, caller: Caller, subject: Subject | None, action: str) -> bool:
        return False

    def names_organization(self, caller: Caller, subject: Subject, code: str) -> bool:
        return False

    def counterparties(self, caller: Caller) -> frozenset[str]:
        return frozenset()

    def agreements(self, caller: Caller, counterparty: str, action: str) -> list[Agreement]:
        return []

    def statistics_scope(self, caller: Caller) -> RowScope:
        return self.scope_filter(caller)


_check: Policy = BasePolicy()  # the protocol is structural; fail at import if it drifts
