"""`ContractPolicy`: the answer at the policy point under signed contracts.

Rules, in order:
1. A party sees the data of the sources it owns — except `Member.idNumber`, which it sees
   masked unless a contract grants it in full (the hub never spreads raw ID numbers lightly).
2. Another party's data is visible only under a contract that is active, in force, lists the
   caller's purpose, covers the member (scope), has the value's owner among its parties, and
   grants the field to the caller (by role or party id). The most permissive granted transform
   wins: full > year > hashed > masked.
3. A prohibition in any contract that applies to the member wins over every permission.
4. Record-level facts of other types leave as the member data they stand for
   (`FIELD_ALIASES`): a data issue's record id, row, location and message as
   `SourceRecord.localId`; a match candidate's name, birth date and id as `Member.name`,
   `Member.birthDate` and `SourceRecord.localId`.

Observers (e.g. a provincial organisation department) see no person through the contracts
they observe: a contract never brings a member into an observer's row scope, grants it a value
of one or lets it record for one. They ask for aggregates instead (`statistics_scope`: every
member of the contracts they observe), which the statistics suppress below a minimum count.

Row scope beyond members: `issue_scope_filter` (data-quality issues: own sources', others'
only for member records a contract brings into range); `aggregate_granted` (an activity's
attendance figures, a source's sync counts: the owner's, or granted); `names_organization`
(where a party may record besides its own sources' organisations).

Filters (`filter_allowed`): a list filtered on a field, with `totalCount`, reveals that field
for every member the filter ranges over, so the API refuses a filter argument before execution
unless the caller could see the field it tests *in full* across that whole range (the filter is
matched in SQL against the merged index row, before any transform). The range is the members
of the caller's own sources plus, per applicable contract, the members its scope brings in.
The rule, conservative on purpose (it cannot know the members before execution):
- no applicable contract prohibits the field to the caller (for any party's data);
- if the caller owns sources, they supply the field (its own members);
- for each applicable contract, every *other* party of it whose sources supply the field grants
  it to the caller with transform `full` in that contract (masked, hashed or year is not
  enough: a filter tests the raw value) — unless the contract's scope already decides the
  filter for the caller (a routing filter — origin region or organisation, destination region,
  status — that is true for all or for none of the members the contract can bring in, e.g. an
  origin party filtering on its own region);
- a caller owning no source and party to no applicable contract may filter on nothing governed.
Known residue, accepted: a member linked to the caller's own source *and* another party's
source holds, after field authority, possibly that party's spelling of a value the caller
itself holds for the same person; and a party outside a contract whose source also links a
member in the contract's scope is not considered (can_see requires a contract party's source).

A policy answers for the contracts in force at its `now`; the API's cached one is revalidated on
every request (hub.contracts.trust.Trust.policy_for), so a revocation is seen by the next
request and an expiry by the first one at or after it. For row scope `can_see` needs the parties
owning the member's linked sources: pass a `SubjectWithOwners` (a plain `Subject` is judged by
contract scope alone, so members known only from the caller's own sources would be hidden).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from hub.clock import utcnow
from hub.contracts.model import (
    RECORD_ACTIONS,
    Contract,
    Role,
    Scope,
    region_covers,
    region_prefix,
)
from hub.model import IDENTIFYING, MEMBER_GRAPHQL_TYPES
from hub.model import MASKED_UNLESS_GRANTED as _OTHER_ENTITIES_MASKED
from hub.policy.base import (
    Agreement,
    BasePolicy,
    Caller,
    FieldTable,
    Policy,
    Subject,
    SubjectWithOwners,
    Transform,
)
from hub.store.models import DataIssueRow, MemberRow, SourceLinkRow

__all__ = [
    "ContractPolicy",
    "SubjectWithOwners",
    "DEFAULT_PUBLIC_FIELDS",
    "OWN_DATA_MASKED",
    "MASKED_UNLESS_GRANTED",
    "MEMBER_TYPES",
    "MEMBER_WIDE_FIELDS",
    "FIELD_ALIASES",
    "rank",
]

#: fields any authenticated party may see of governed types: opaque keys, and containers
#: whose own fields are policed one by one (asking for `destination` grants nothing below it).
#: `sources` is provenance: which systems supplied which fields; the record's id in a system
#: (`SourceRecord.localId`) and a member's organisation-life record (`Member.activities`) are
#: personal and need a grant (or the caller's own source).
DEFAULT_PUBLIC_FIELDS: Mapping[str, frozenset[str]] = {
    "Member": frozenset({"id", "key", "destination", "fourClarities", "sources",
                         "extensions"}),  # a deployment's container (hub.api.extension_fields)
    "FourClarities": frozenset({"destination", "work"}),
    "SourceRecord": frozenset({"system", "fetchedAt", "fields", "usedFields"}),
    # what is wrong and where (system, column), never which record or its values
    "DataQualityIssue": frozenset({"system", "entity", "code", "column", "firstSeen",
                                   "lastSeen"}),
    "MatchCandidate": frozenset({"system", "score", "reasons", "member", "cursor"}),
}
#: (type, field) decided by the grant of another (type, field): a data issue's record id,
#: row, location and message identify one source record (a SQL location is "table t id=..",
#: a message quotes the bad value), so they leave as that record's id would; a match
#: candidate's name, birth date and id are another system's record of (maybe) that member
FIELD_ALIASES: Mapping[tuple[str, str], tuple[str, str]] = {
    ("DataQualityIssue", "localId"): ("SourceRecord", "localId"),
    ("DataQualityIssue", "location"): ("SourceRecord", "localId"),
    ("DataQualityIssue", "row"): ("SourceRecord", "localId"),
    ("DataQualityIssue", "message"): ("SourceRecord", "localId"),
    ("MatchCandidate", "localId"): ("SourceRecord", "localId"),
    ("MatchCandidate", "name"): ("Member", "name"),
    ("MatchCandidate", "birthDate"): ("Member", "birthDate"),
}
#: (type, field) made of every linked source's records rather than one source's value: the
#: parties owning the member's sources own it (the most permissive answer among them wins)
MEMBER_WIDE_FIELDS: frozenset[tuple[str, str]] = frozenset({
    ("Member", "activities"), ("Member", "studyRecords"), ("Member", "studyHours")})
#: (type, field) a party sees masked even from its own sources, unless a contract says full
OWN_DATA_MASKED: frozenset[tuple[str, str]] = IDENTIFYING  # canonical table, hub.model
#: (type, field) of otherwise ungoverned types that leave masked to other parties unless a
#: contract grants more (the owner sees its own in full): organisations' contact phones
MASKED_UNLESS_GRANTED: frozenset[tuple[str, str]] = _OTHER_ENTITIES_MASKED
#: types whose values belong to one member: contracts apply only when their scope covers it
MEMBER_TYPES: frozenset[str] = MEMBER_GRAPHQL_TYPES | {"MemberExtensions"}

#: how many answers of `applicable` (and of `transform`) a policy keeps (it is shared between
#: requests; past this it starts afresh, so memory stays bounded)
APPLICABLE_MEMO_SIZE = 4096

#: what a contract's scope (Scope.covers) and the own-region rule (_own_origin) look at in a
#: member: members alike in these are alike to every decision of this policy
Route = tuple[str | None, str | None, str | None, str | None]


def route_of(subject: Subject | None) -> Route | None:
    """The routing facts of `subject` that decisions depend on (never its key)."""
    if subject is None:
        return None
    return (subject.origin_org_id, subject.origin_region_code,
            subject.destination_region_code, subject.status)


_RANK = {Transform.DENY: 0, Transform.MASKED: 1, Transform.HASHED: 2, Transform.YEAR: 3,
         Transform.FULL: 4}


def rank(transform: Transform) -> int:
    """How much a transform reveals; the policy picks the highest rank granted."""
    return _RANK[transform]


class ContractPolicy(BasePolicy):
    """Implements every question of `hub.policy.base.Policy` from signed contracts."""

    grants_records = True

    def __init__(
        self,
        contracts: Iterable[Contract],
        *,
        now: datetime | None = None,
        supplied_fields: Mapping[str, Mapping[str, Set[str]]] | None = None,
        sources_of: Mapping[str, Set[str]] | None = None,
        public_fields: Mapping[str, Set[str]] = DEFAULT_PUBLIC_FIELDS,
        own_masked: Set[tuple[str, str]] = OWN_DATA_MASKED,
        masked_unless_granted: Set[tuple[str, str]] = MASKED_UNLESS_GRANTED,
        member_types: Set[str] = MEMBER_TYPES,
        party_regions: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """`supplied_fields`: party -> type -> fields its sources supply (for the
        pre-execution check). `sources_of`: party -> names of the sources it owns (for
        `scope_filter`). `party_regions`: party -> its region codes (from the registry); an
        origin party of a multi-origin contract then covers only members from its own
        regions (in 成德眉资, 德阳 does not see 眉山's members)."""
        now = now or utcnow()
        self.contracts = tuple(c for c in contracts if c.in_force(now))
        self.supplied = {p: {t: frozenset(fs) for t, fs in types.items()}
                         for p, types in (supplied_fields or {}).items()}
        self.sources_of = {p: frozenset(s) for p, s in (sources_of or {}).items()}
        self.public = {t: frozenset(fs) for t, fs in public_fields.items()}
        self.own_masked = frozenset(own_masked)
        self.masked_unless_granted = frozenset(masked_unless_granted)
        self.member_types = frozenset(member_types)
        self.party_regions = {p: tuple(r) for p, r in (party_regions or {}).items()}
        self.governed = frozenset(
            {t for types in self.supplied.values() for t in types}
            | {t for c in self.contracts for g in c.read_grants for t in g.fields}
            | {t for c in self.contracts for p in c.read_prohibitions for t in p.fields}
            | set(self.public)
        )
        # every field of a member asks which contracts apply to it and how the value leaves:
        # the answers depend only on the caller and the member's routing facts (the contracts
        # are fixed at construction), which most members share with many others, so they are
        # kept for as long as this policy serves (it is rebuilt when the contracts change)
        # Keyed by (party, purpose), never the whole Caller: every decision here depends on
        # those two only, and a Caller also holds the user and the token id (a new one per
        # request), so keying by it kept nothing from one request to the next.
        self._applicable: dict[tuple[str | None, str | None, Route | None],
                               list[Contract]] = {}
        self._transforms: dict[tuple[str | None, str | None, Route | None,
                                     frozenset[str] | None, str, str, str | None],
                               Transform] = {}
        #: `_contract_scopes` per (party, purpose): SQLAlchemy expressions are immutable and
        #: building them anew for every page or count cost ~5 ms a request
        self._scopes: dict[tuple[str | None, str | None],
                           list[tuple[Contract, ColumnElement[bool]]]] = {}

    @classmethod
    async def from_store(cls, store: object, *, now: datetime | None = None,
                         **kwargs: object) -> ContractPolicy:
        """A policy over the contracts active right now (one per request: never stale)."""
        now = now or utcnow()
        contracts = await store.active_contracts(now)  # type: ignore[attr-defined]
        return cls(contracts, now=now, **kwargs)  # type: ignore[arg-type]

    # ------------------------------------------------------------ which contracts apply

    def applicable(self, caller: Caller, subject: Subject | None = None) -> list[Contract]:
        """Contracts the caller is party to, for its stated purpose (and covering `subject`).
        The list is shared: callers read it, never change it."""
        if caller.party is None or caller.purpose is None:
            return []
        key = (caller.party, caller.purpose, route_of(subject))
        found = self._applicable.get(key)
        if found is None:
            if len(self._applicable) >= APPLICABLE_MEMO_SIZE:
                self._applicable.clear()
            found = self._applicable[key] = self._applicable_now(caller, subject)
        return found

    def _applicable_now(self, caller: Caller, subject: Subject | None) -> list[Contract]:
        assert caller.party is not None
        return [
            c for c in self.contracts
            if caller.party in c.parties and caller.purpose in c.purposes
            and (subject is None or (c.parties[caller.party] is not Role.OBSERVER
                                     and c.scope.covers(subject)
                                     and self._own_origin(c, caller.party, subject)))
        ]

    def _own_origin(self, c: Contract, party: str, subject: Subject) -> bool:
        """An origin party covers only members from its own regions, a destination party only
        members living in its own regions (in a multi-city contract, 成都 does not see who
        went to 杭州); observers are not narrowed."""
        regions = self.party_regions.get(party)
        role = c.parties[party]
        if not regions or role not in (Role.ORIGIN, Role.DESTINATION):
            return True
        code = subject.origin_region_code if role is Role.ORIGIN else \
            subject.destination_region_code
        return any(region_covers(r, code) for r in regions)

    def contract_digests(self, caller: Caller, subject: Subject | None = None) -> list[str]:
        """Digests of the contracts a decision relied on (for the audit log)."""
        return sorted(c.digest for c in self.applicable(caller, subject))

    def max_members_per_request(self, caller: Caller) -> int | None:
        limits = [c.max_members_per_request for c in self.applicable(caller)
                  if c.max_members_per_request is not None]
        return min(limits) if limits else None

    # ------------------------------------------------------------ Policy protocol

    def denied_fields(
        self, caller: Caller, requested: Mapping[str, Set[str]]
    ) -> dict[str, set[str]]:
        denied: dict[str, set[str]] = {}
        contracts = self.applicable(caller)
        for type_name, fields in requested.items():
            if type_name not in self.governed:
                continue  # connections, page info, regions: no party's data
            for name in fields:
                if self._grantable(caller, contracts, type_name, name):
                    continue
                denied.setdefault(type_name, set()).add(name)
        return denied

    def _grantable(self, caller: Caller, contracts: list[Contract], type_name: str,
                   name: str) -> bool:
        if name in self.public.get(type_name, ()) or name.startswith("__"):
            return True
        type_name, name = FIELD_ALIASES.get((type_name, name), (type_name, name))
        if (type_name, name) in self.masked_unless_granted:
            return True  # at least masked
        party = caller.party
        if party is None:
            return False
        if name in self.supplied.get(party, {}).get(type_name, ()):
            return True
        # optimistic over members: scope is unknown before execution, so only a prohibition
        # in the same contract as the grant can make a grant impossible
        for c in contracts:
            for owner in c.parties:
                if owner != party and _granted(c, party, owner, type_name, name) \
                        is not Transform.DENY and not _prohibited(c, party, owner, type_name, name):
                    return True
        return False

    def filter_allowed(self, caller: Caller, type_name: str, field: str, *,
                       routing: str | None = None, value: str | None = None) -> bool:
        """May the caller filter a list on `type_name.field` (module docstring: the field in
        full over every member the filter ranges over)? `routing` / `value`: the scope
        dimension the filter compares (origin_region, origin_org, destination_region,
        status) and the value, so a contract whose scope decides the filter needs no grant."""
        return not any(True for _ in self._filter_blockers(caller, type_name, field,
                                                            routing, value))

    def filter_refused_by(self, caller: Caller, type_name: str, field: str, *,
                          routing: str | None = None, value: str | None = None
                          ) -> tuple[str, ...]:
        """The titles of the caller's contracts that keep the filter from being allowed, so
        an official reads which agreement to renegotiate; empty when no contract is the
        reason (no contract at all, or the caller's own sources lack the field). The caller
        is party to each, so a title tells it nothing it could not read in `contracts`."""
        titles = (c.title for c in self._filter_blockers(caller, type_name, field, routing,
                                                          value) if c is not None)
        return tuple(dict.fromkeys(titles))

    def _filter_blockers(self, caller: Caller, type_name: str, field: str,
                         routing: str | None, value: str | None) -> Iterator[Contract | None]:
        """Each reason the filter is refused: the contract behind it, or None for a reason of
        the caller's own (the rule in the module docstring, in order)."""
        if type_name not in self.governed or field in self.public.get(type_name, ()):
            return  # no party's data, or a field every caller sees of every row
        type_name, field = FIELD_ALIASES.get((type_name, field), (type_name, field))
        party = caller.party
        if party is None:
            yield None
            return
        contracts = self.applicable(caller)
        prohibiting = [c for c in contracts
                       if any(_prohibited(c, party, o, type_name, field) for o in c.parties)]
        if prohibiting:
            yield from prohibiting
            return
        supplied = self.supplied.get(party)
        owns = supplied is not None or bool(self.sources_of.get(party))
        if owns and field not in (supplied or {}).get(type_name, ()):
            yield None
            return
        if not owns and not contracts:
            yield None
            return
        suppliers = {o for o, types in self.supplied.items()
                     if o != party and field in types.get(type_name, ())}
        for c in contracts:
            if routing is not None and value is not None and \
                    self._scope_decides(c, party, routing, value):
                continue
            if any(_granted(c, party, owner, type_name, field) is not Transform.FULL
                   for owner in suppliers & set(c.parties)):
                yield c

    def _scope_decides(self, c: Contract, party: str, routing: str, value: str) -> bool:
        """Is a filter on `routing` == `value` true for all or for none of the members
        contract `c` can bring into `party`'s range?"""
        scope = c.scope
        role = c.parties[party]
        regions = self.party_regions.get(party) or ()
        if routing == "status":
            if scope.statuses is None:
                return False
            v = value.lower()
            return scope.statuses <= {v} or v not in scope.statuses
        if routing == "origin_org":
            if scope.origin_region_codes:
                return False
            return scope.origin_org_ids <= {value} or value not in scope.origin_org_ids
        if not (len(value) == 6 and value.isascii() and value.isdigit()):
            return False  # not a region code (a `%` in it would match anything): no decision
        bounds: list[Sequence[str]] = []
        if routing == "origin_region":
            if not scope.origin_org_ids:
                bounds.append(scope.origin_region_codes)
            if role is Role.ORIGIN and regions:
                bounds.append(regions)
        elif routing == "destination_region":
            if scope.destination_region_codes:
                bounds.append(scope.destination_region_codes)
            if role is Role.DESTINATION and regions:
                bounds.append(regions)
        want = region_prefix(value)
        for bound in bounds:
            prefixes = [region_prefix(r) for r in bound]
            if all(p.startswith(want) for p in prefixes):
                return True  # every member the contract brings in matches
            if all(not p.startswith(want) and not want.startswith(p) for p in prefixes):
                return True  # none does
        return False

    def may_read(self, caller: Caller, type_name: str, field: str, owner: str | None) -> bool:
        """Could any member's `type_name.field` from `owner`'s sources reach the caller? (The
        API asks each source only for such fields; optimistic over scope, exact over owner.)"""
        party = caller.party
        if field in self.public.get(type_name, ()):
            return True
        type_name, field = FIELD_ALIASES.get((type_name, field), (type_name, field))
        if party is None:
            return False
        if owner is not None and owner == party:
            return True
        for c in self.applicable(caller):
            if owner is not None and owner not in c.parties:
                continue
            if _granted(c, party, owner, type_name, field) is not Transform.DENY and \
                    not _prohibited(c, party, owner, type_name, field):
                return True
        return False

    def readable_fields(self, caller: Caller, owner: str | None,
                        table: FieldTable) -> frozenset[str]:
        """The canonical fields of `table` behind a (type, field) `may_read` allows."""
        return frozenset(canonical for (type_name, name), fields in table.items()
                         if self.may_read(caller, type_name, name, owner)
                         for canonical in fields)

    def can_see(self, caller: Caller, subject: Subject) -> bool:
        if caller.party is None:
            return False
        owners = getattr(subject, "owners", None)
        if owners is not None and caller.party in owners:
            return True
        for c in self.applicable(caller, subject):
            if owners is None or (set(owners) & set(c.parties)) - {caller.party}:
                return True
        return False

    def transform(
        self, caller: Caller, subject: Subject | None, type_name: str, field: str,
        owner: str | None,
    ) -> Transform:
        key = (caller.party, caller.purpose, route_of(subject), getattr(subject, "owners", None),
               type_name, field, owner)
        found = self._transforms.get(key)
        if found is None:
            if len(self._transforms) >= APPLICABLE_MEMO_SIZE:
                self._transforms.clear()
            found = self._transforms[key] = self._transform_now(caller, subject, type_name,
                                                                field, owner)
        return found

    def _transform_now(
        self, caller: Caller, subject: Subject | None, type_name: str, field: str,
        owner: str | None,
    ) -> Transform:
        party = caller.party
        if field in self.public.get(type_name, ()):
            return Transform.FULL
        type_name, field = FIELD_ALIASES.get((type_name, field), (type_name, field))
        if party is None:
            return Transform.DENY
        if owner is None and (type_name, field) in MEMBER_WIDE_FIELDS:
            owners = sorted(getattr(subject, "owners", None) or ())
            return max((self.transform(caller, subject, type_name, field, o) for o in owners),
                       key=rank, default=Transform.DENY)
        floor = Transform.DENY
        if (type_name, field) in self.masked_unless_granted:
            floor = Transform.MASKED
        elif type_name not in self.governed:
            return Transform.FULL
        if type_name in self.member_types and subject is None:
            contracts: list[Contract] = []  # cannot check scope: contracts grant nothing
        else:
            # any value about a member (provenance, match candidates too) needs scope
            member_bound = type_name in self.member_types or subject is not None
            contracts = self.applicable(caller, subject if member_bound else None)
        own = owner == party
        base = Transform.DENY
        if own:
            base = Transform.MASKED if (type_name, field) in self.own_masked else Transform.FULL
        relevant = [c for c in contracts if owner is None or owner in c.parties]
        best = Transform.DENY
        for c in relevant:
            t = _granted(c, party, owner, type_name, field)
            if rank(t) > rank(best):
                best = t
        if any(_prohibited(c, party, owner, type_name, field) for c in relevant):
            return base  # prohibitions win over grants; they never take a party's own data
        return max(best, base, floor, key=rank)

    def can_record(self, caller: Caller, subject: Subject | None, action: str) -> bool:
        """May the caller record `action` (checkin, attendance, ...) for this member (None:
        an action about no member, by any contract the caller is party to)?"""
        if action not in RECORD_ACTIONS:
            raise ValueError(f"unknown record action {action!r}; one of {RECORD_ACTIONS}")
        party = caller.party
        if party is None:
            return False
        contracts = self.applicable(caller, subject)
        if any(c.matches(ref, party) for c in contracts
               for ref in c.record_prohibitions.get(action, ())):
            return False
        return any(c.matches(ref, party) for c in contracts for ref in c.record.get(action, ()))

    # ------------------------------------------------------------ SQL row scope

    def _contract_scopes(self, caller: Caller) -> list[tuple[Contract, ColumnElement[bool]]]:
        """Per applicable contract, the members it brings into the caller's range, over
        `MemberRow` columns (its scope, narrowed to the caller's own regions by role).
        Built once per (party, purpose) for the life of this policy (the list is shared:
        callers read it, never change it)."""
        assert caller.party is not None
        key = (caller.party, caller.purpose)
        found = self._scopes.get(key)
        if found is None:
            if len(self._scopes) >= APPLICABLE_MEMO_SIZE:
                self._scopes.clear()
            found = self._scopes[key] = self._contract_scopes_now(caller)
        return found

    def _contract_scopes_now(self, caller: Caller) -> list[tuple[Contract, ColumnElement[bool]]]:
        assert caller.party is not None
        out = []
        for c in self.applicable(caller):
            if c.parties[caller.party] is Role.OBSERVER:
                continue  # aggregates only (statistics_scope), never persons
            clause = _scope_sql(c.scope)
            regions = self.party_regions.get(caller.party)
            role = c.parties[caller.party]
            if role in (Role.ORIGIN, Role.DESTINATION) and regions:
                column = MemberRow.origin_region_code if role is Role.ORIGIN else \
                    MemberRow.destination_region_code
                clause = and_(clause, or_(*(_region_sql(column, r) for r in regions)))
            if self.sources_of:
                # as `can_see`: a contract shares only what its other parties' sources hold
                # (a member in scope known only to a third system is not brought in, and
                # must not be counted either)
                theirs = sorted({s for p in c.parties if p != caller.party
                                 for s in self.sources_of.get(p, ())})
                held = aliased(SourceLinkRow)  # never correlated with an enclosing link
                clause = and_(clause, exists(select(held.id).where(
                    held.member_key == MemberRow.key,
                    held.source.in_(theirs))) if theirs else false())
            out.append((c, clause))
        return out

    def issue_scope_filter(self, caller: Caller) -> ColumnElement[bool]:
        """Which data-quality issues the caller may list, over `DataIssueRow` columns: every
        issue of its own sources; another party's only when the record it is about is a
        member linked from that party's source and in the scope of a contract both are
        party to (as `can_see` would decide for that member). Issues that name no linked
        member record (a row without an id, an organisation, an unlinked record) stay with
        the source's owner."""
        party = caller.party
        if party is None:
            return false()
        clauses: list[ColumnElement[bool]] = []
        owned = self.sources_of.get(party)
        if owned:
            clauses.append(DataIssueRow.source.in_(sorted(owned)))
        for c, scope in self._contract_scopes(caller):
            theirs = sorted({s for p in c.parties if p != party
                             for s in self.sources_of.get(p, ())})
            if not theirs:
                continue
            clauses.append(and_(
                DataIssueRow.source.in_(theirs),
                DataIssueRow.entity == "member",
                exists(select(SourceLinkRow.id).join(
                    MemberRow, MemberRow.key == SourceLinkRow.member_key).where(
                    SourceLinkRow.source == DataIssueRow.source,
                    SourceLinkRow.entity == "member",
                    SourceLinkRow.local_id == DataIssueRow.local_id,
                    scope,
                )),
            ))
        return or_(*clauses) if clauses else false()

    def names_organization(self, caller: Caller, subject: Subject, code: str) -> bool:
        """Does a contract that applies to the caller and this member name organisation
        `code` (its scope lists it)? Where a party may record besides its own sources'
        organisations."""
        return any(code in c.scope.origin_org_ids for c in self.applicable(caller, subject))

    def counterparties(self, caller: Caller) -> frozenset[str]:
        """The parties of the contracts that apply to the caller (its own included)."""
        return frozenset(p for c in self.applicable(caller) for p in c.parties)

    def agreements(self, caller: Caller, counterparty: str, action: str) -> list[Agreement]:
        """Active contracts (for the caller's purpose) between the caller and `counterparty`
        on opposite sides (origin / destination) that grant the caller `action` and do not
        prohibit it, by id."""
        party = caller.party
        if party is None or counterparty == party:
            return []
        sides = {Role.ORIGIN, Role.DESTINATION}
        found = []
        for c in self.applicable(caller):
            mine, theirs = c.parties.get(party), c.parties.get(counterparty)
            if mine not in sides or theirs not in sides or mine is theirs:
                continue
            if any(c.matches(ref, party) for ref in c.record_prohibitions.get(action, ())):
                continue
            if not any(c.matches(ref, party) for ref in c.record.get(action, ())):
                continue
            found.append(Agreement(
                c.id, c.digest, {p: r.value for p, r in c.parties.items()},
                c.scope.origin_org_ids, c.scope.origin_region_codes,
                c.scope.destination_region_codes))
        return sorted(found, key=lambda a: a.id)

    def aggregate_granted(self, caller: Caller, type_name: str, field: str,
                          owner: str | None) -> bool:
        """May the caller see `owner`'s aggregate `type_name.field` (an activity's attendance
        figures) as recorded? Its own, or granted by a contract naming `owner`; otherwise
        the API counts only what the caller may see."""
        party = caller.party
        if party is None or owner is None:
            return False
        if owner == party:
            return True
        return any(owner in c.parties
                   and _granted(c, party, owner, type_name, field) is not Transform.DENY
                   and not _prohibited(c, party, owner, type_name, field)
                   for c in self.applicable(caller))

    def statistics_scope(self, caller: Caller) -> ColumnElement[bool] | None:
        """Members whose aggregates the caller may ask for: its own row scope, plus every
        member of each contract it observes that the contract's other parties' sources hold."""
        if caller.party is None:
            return false()
        own = self.scope_filter(caller)
        clauses: list[ColumnElement[bool]] = [false() if own is None else own]
        for c in self.applicable(caller):
            if c.parties[caller.party] is not Role.OBSERVER:
                continue
            theirs = sorted({s for p in c.parties if p != caller.party
                             for s in self.sources_of.get(p, ())})
            clause = _scope_sql(c.scope)
            if self.sources_of:
                held = aliased(SourceLinkRow)
                clause = and_(clause, exists(select(held.id).where(
                    held.member_key == MemberRow.key,
                    held.source.in_(theirs))) if theirs else false())
            clauses.append(clause)
        return or_(*clauses)

    def scope_filter(self, caller: Caller) -> ColumnElement[bool] | None:
        """`can_see` over `MemberRow` columns, so lists and counts never include members the
        caller may not see. Owned members are found through `source_links`."""
        if caller.party is None:
            return false()
        clauses = [clause for _, clause in self._contract_scopes(caller)]
        owned = self.sources_of.get(caller.party)
        if owned:
            clauses.append(
                exists(
                    select(SourceLinkRow.id).where(
                        SourceLinkRow.member_key == MemberRow.key,
                        SourceLinkRow.source.in_(sorted(owned)),
                    )
                )
            )
        return or_(*clauses) if clauses else false()


def _granted(c: Contract, party: str, owner: str | None, type_name: str,
             field: str) -> Transform:
    """The best transform contract `c` grants `party` for `owner`'s value (DENY if none)."""
    best = Transform.DENY
    for g in c.read_grants:
        if not c.matches(g.grantee, party):
            continue
        if owner is None:
            if g.data_of is not None:
                continue
        elif g.data_of is None:
            if owner == party:
                continue  # "any other party": a grant about others never covers own data
        elif not c.matches(g.data_of, owner):
            continue
        t = g.fields.get(type_name, {}).get(field)
        if t is not None and rank(t) > rank(best):
            best = t
    return best


def _prohibited(c: Contract, party: str, owner: str | None, type_name: str, field: str) -> bool:
    for p in c.read_prohibitions:
        if not c.matches(p.grantee, party):
            continue
        if p.data_of is not None and (owner is None or not c.matches(p.data_of, owner)):
            continue
        if field in p.fields.get(type_name, ()):
            return True
    return False


def _region_sql(column: Any, code: str) -> ColumnElement[bool]:
    return column.startswith(region_prefix(code), autoescape=True)  # type: ignore[no-any-return]


def _scope_sql(scope: Scope) -> ColumnElement[bool]:
    origin: list[ColumnElement[bool]] = (
        [MemberRow.origin_org_id.in_(sorted(scope.origin_org_ids))] if scope.origin_org_ids else []
    )
    origin += [_region_sql(MemberRow.origin_region_code, c) for c in scope.origin_region_codes]
    parts = [or_(*origin) if origin else false()]
    if scope.destination_region_codes:
        parts.append(or_(*(_region_sql(MemberRow.destination_region_code, c)
                           for c in scope.destination_region_codes)))
    if scope.statuses is not None:
        parts.append(MemberRow.status.in_(sorted(scope.statuses)))
    return and_(*parts)


_check: Policy = ContractPolicy([])  # the protocol is structural; fail at import if it drifts
