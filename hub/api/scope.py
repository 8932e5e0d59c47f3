"""Row scope: which members the caller may see, in SQL when the policy can say it in SQL.

`Policy.can_see` decides one member at a time. Lists and `totalCount` must not count what the
caller cannot see (a count is an existence leak too), so a policy also answers
`scope_filter(caller)`: a SQLAlchemy condition over `MemberRow` columns, None for "no
restriction", or SCOPE_BY_ROW when it cannot say its scope in SQL (BasePolicy's answer): the
list is then filtered member by member in Python (correct, slower). Every row is checked with
`can_see` as well, so a filter that is too wide never shows anything.
"""

from __future__ import annotations

from typing import Any

from hub.policy.base import SCOPE_BY_ROW, Subject, SubjectWithOwners
from hub.policy.decisions import Decisions
from hub.store.models import MemberRow

__all__ = ["NO_SQL_SCOPE", "subject_of", "visible"]


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


#: the policy cannot express its scope in SQL: filter in Python (hub.policy.base)
NO_SQL_SCOPE: Any = SCOPE_BY_ROW


def visible(decisions: Decisions, row: MemberRow) -> bool:
    return decisions.can_see(subject_of(row))
