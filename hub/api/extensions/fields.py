"""Which canonical source fields each GraphQL member field is made of.

Used twice: before execution, to ask each source only for the fields the query needs
(`ReadRequest.fields`); during execution, to find which source supplied a value and hence the
party that owns it (the `owner` a policy decides with).
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from hub.model import MEMBER_GRAPHQL_FIELDS

__all__ = ["MEMBER_FIELDS", "canonical_member_fields", "ALL_FIELDS_FOR"]

#: (GraphQL type, field) -> canonical member fields read from the sources (derived from the
#: canonical table, connectors.canonical, by hub.model)
MEMBER_FIELDS: Mapping[tuple[str, str], tuple[str, ...]] = MEMBER_GRAPHQL_FIELDS

#: fields whose answer depends on every field a source has: read everything for them
ALL_FIELDS_FOR: frozenset[tuple[str, str]] = frozenset({("Member", "sources")})


def canonical_member_fields(requested: Mapping[str, Set[str]]) -> frozenset[str] | None:
    """The canonical fields to read for `requested` (type -> fields); None means all."""
    wanted: set[str] = set()
    for type_name, names in requested.items():
        for name in names:
            if (type_name, name) in ALL_FIELDS_FOR:
                return None
            wanted.update(MEMBER_FIELDS.get((type_name, name), ()))
    return frozenset(wanted)
