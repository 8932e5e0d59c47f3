"""`Decisions`: the request's policy point, asked once per question.

A request asks its `Policy` the same things over and over: how a member's field leaves (for
each member of a page, for every attendance row of a member's activities), whether a member
is in scope (where it is made, and again under an activity's attendees), which fields a
source's owner lets through (for each batch read), the contracts' member limit (for each
batch). `Decisions` binds the policy to the request's caller and answers each distinct
question once, from a cache that lives exactly as long as the request (a policy is shared
between requests, a caller's answers never are). The API asks it, never the policy directly,
so there is one place where decisions are made and one place to look when one is wrong.

A policy that keeps its own field decisions by something coarser than the member (the contract
policy keeps them by the member's routing facts, across requests: `memoizes_transforms`) is
asked `transform` directly: keyed here by the member, a page of fifty asked it fifty times
anyway, and paid for hashing each member on top of the policy's own lookup. `transform` is
then the policy's own, bound to the caller (a page asks it ~300 times: no call in between).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from functools import partial
from typing import TYPE_CHECKING

from hub.policy.base import Agreement, Caller, FieldTable, Policy, RowScope, Subject, Transform

if TYPE_CHECKING:
    from sqlalchemy.sql import ColumnElement

__all__ = ["Decisions"]

_UNSET: object = object()


class Decisions:
    """One request's answers from `policy` for `caller` (see the module docstring)."""

    __slots__ = ("policy", "caller", "_table", "_transforms", "_visible", "_readable",
                 "_aggregates", "_scope", "_issue_scope", "_max_members", "transform")

    #: how `type_name.field` of `subject` from `owner`'s source leaves for the caller
    transform: Callable[[Subject | None, str, str, str | None], Transform]

    def __init__(self, policy: Policy, caller: Caller, table: FieldTable) -> None:
        """`table`: (GraphQL type, field) -> canonical source fields, for `readable`."""
        self.policy = policy
        self.caller = caller
        self._table = table
        self._transforms: dict[tuple[Subject | None, str, str, str | None], Transform] = {}
        self._visible: dict[Subject, bool] = {}
        self._readable: dict[str | None, frozenset[str] | None] = {}
        self._aggregates: dict[tuple[str, str, str | None], bool] = {}
        self._scope: object = _UNSET
        self._issue_scope: object = _UNSET
        self._max_members: object = _UNSET
        #: the policy memoizes `transform` itself: ask it directly (see the module docstring)
        self.transform = partial(self.policy.transform, caller) \
            if self.policy.memoizes_transforms else self._memoized_transform

    # ------------------------------------------------------------ before execution

    def denied_fields(self, requested: Mapping[str, Set[str]]) -> dict[str, set[str]]:
        return self.policy.denied_fields(self.caller, requested)

    def filter_allowed(self, type_name: str, field: str, *, routing: str | None = None,
                       value: str | None = None) -> bool:
        return self.policy.filter_allowed(self.caller, type_name, field, routing=routing,
                                          value=value)

    def filter_refused_by(self, type_name: str, field: str, *, routing: str | None = None,
                          value: str | None = None) -> tuple[str, ...]:
        return self.policy.filter_refused_by(self.caller, type_name, field, routing=routing,
                                             value=value)

    # ------------------------------------------------------------ rows

    def can_see(self, subject: Subject) -> bool:
        found = self._visible.get(subject)
        if found is None:
            found = self._visible[subject] = self.policy.can_see(self.caller, subject)
        return found

    def member_scope(self) -> RowScope:
        if self._scope is _UNSET:
            self._scope = self.policy.scope_filter(self.caller)
        return self._scope  # type: ignore[return-value]

    def issue_scope(self) -> ColumnElement[bool] | None:
        if self._issue_scope is _UNSET:
            self._issue_scope = self.policy.issue_scope_filter(self.caller)
        return self._issue_scope  # type: ignore[return-value]

    # ------------------------------------------------------------ values

    def _memoized_transform(self, subject: Subject | None, type_name: str, field: str,
                            owner: str | None) -> Transform:
        key = (subject, type_name, field, owner)
        found = self._transforms.get(key)
        if found is None:
            found = self._transforms[key] = self.policy.transform(
                self.caller, subject, type_name, field, owner)
        return found

    def readable(self, owner: str | None) -> frozenset[str] | None:
        """The canonical member fields the caller may read from `owner`'s sources; None when
        the policy does not narrow reads."""
        if owner in self._readable:
            return self._readable[owner]
        found = self._readable[owner] = self.policy.readable_fields(self.caller, owner,
                                                                    self._table)
        return found

    def aggregate_granted(self, type_name: str, field: str, owner: str | None) -> bool:
        key = (type_name, field, owner)
        found = self._aggregates.get(key)
        if found is None:
            found = self._aggregates[key] = self.policy.aggregate_granted(
                self.caller, type_name, field, owner)
        return found

    # ------------------------------------------------------------ limits, records, audit

    def max_members_per_request(self) -> int | None:
        if self._max_members is _UNSET:
            self._max_members = self.policy.max_members_per_request(self.caller)
        return self._max_members  # type: ignore[return-value]

    def contract_digests(self, subject: Subject | None = None) -> list[str]:
        return self.policy.contract_digests(self.caller, subject)

    @property
    def grants_records(self) -> bool:
        return self.policy.grants_records

    def can_record(self, subject: Subject | None, action: str) -> bool:
        return self.policy.can_record(self.caller, subject, action)

    def names_organization(self, subject: Subject, code: str) -> bool:
        return self.policy.names_organization(self.caller, subject, code)

    def counterparties(self) -> frozenset[str]:
        return self.policy.counterparties(self.caller)

    def agreements(self, counterparty: str, action: str) -> list[Agreement]:
        return self.policy.agreements(self.caller, counterparty, action)

    def statistics_scope(self) -> RowScope:
        return self.policy.statistics_scope(self.caller)
