"""Row scope: which members the caller may see, in SQL when the policy can say it in SQL.

`Policy.can_see` decides one member at a time. Lists and `totalCount` must not count what the
caller cannot see (a count is an existence leak too), so a policy may also offer
`scope_filter(caller)`: a SQLAlchemy condition over `MemberRow` columns, or None for "no
restriction". A policy without it still works: the list is filtered member by member in Python
(correct, slower). Every row is checked with `can_see` as well, so a filter that is too wide
never shows anything.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from sqlalchemy.sql import ColumnElement

from hub.policy.base import Caller, Policy, Subject, SubjectWithOwners
from hub.store.models import MemberRow

__all__ = ["ScopedPolicy", "subject_of", "sql_scope", "visible"]


@runtime_checkable
class ScopedPolicy(Protocol):
    def scope_filter(self, caller: Caller) -> ColumnElement[bool] | None:
        """The caller's row scope over `MemberRow` columns; None when unrestricted."""
        ...


def subject_of(row: MemberRow, owners: frozenset[str] | None = None) -> Subject:
    """The routing facts a policy decides on; never personal data. With `owners` (the parties
    owning the member's linked sources) a `SubjectWithOwners`, so a party always sees the
    members of its own sources."""
    if owners is not None:
        return SubjectWithOwners(
            member_key=row.key, origin_org_id=row.origin_org_id,
            origin_region_code=row.origin_region_code,
            destination_region_code=row.destination_region_code, status=row.status,
            owners=owners,
        )
    return Subject(
        member_key=row.key,
        origin_org_id=row.origin_org_id,
        origin_region_code=row.origin_region_code,
        destination_region_code=row.destination_region_code,
        status=row.status,
    )


class _NoSqlScope:
    """Marker: the policy cannot express its scope in SQL; filter in Python."""


NO_SQL_SCOPE: Any = _NoSqlScope()


def sql_scope(policy: Policy, caller: Caller) -> ColumnElement[bool] | None | _NoSqlScope:
    if isinstance(policy, ScopedPolicy):
        return policy.scope_filter(caller)
    return NO_SQL_SCOPE


def visible(policy: Policy, caller: Caller, row: MemberRow) -> bool:
    return policy.can_see(caller, subject_of(row))
