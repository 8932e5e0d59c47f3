"""The hub's canonical model: the table of `connectors.canonical`, seen from the hub.

The canonical entities and fields are one table, `connectors.canonical.FIELDS` (the connectors
must stand alone, and they emit these fields). This module derives from it what the hub's
layers need, so none of them restates a field list:

- `Side`: which side of the co-management agreement a source belongs to (settings, sync, the
  source registry and the merge all speak of it);
- `FIELD_AUTHORITY`: which side's value wins a disagreement (hub.federation.merge);
- `MEMBER_PYTHON_TYPES`: what a live read may hold for each member field (hub.federation.fetch);
- `MEMBER_GRAPHQL_FIELDS`: the canonical fields each GraphQL member field is made of (which
  fields a query reads, and whose source a value came from: hub.api.extensions.fields);
- `MEMBER_GRAPHQL_TYPES`, `MASKED_BY_DEFAULT`, `IDENTIFYING`, `MASKED_UNLESS_GRANTED`: the
  GraphQL names the policies decide over (hub.policy.masking, hub.contracts.policy).

tests/test_canonical_model.py proves every derived set agrees with the table.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from connectors.canonical import FIELDS, CanonicalField, fields_of

__all__ = [
    "Side",
    "Authority",
    "CanonicalField",
    "FIELDS",
    "FIELD_AUTHORITY",
    "MEMBER_PYTHON_TYPES",
    "MEMBER_GRAPHQL_FIELDS",
    "MEMBER_GRAPHQL_TYPES",
    "MASKED_BY_DEFAULT",
    "IDENTIFYING",
    "MASKED_UNLESS_GRANTED",
    "fields_of",
]


class Side(enum.Enum):
    """Which side of the co-management agreement a source system belongs to."""

    ORIGIN = "origin"            # 流出地
    DESTINATION = "destination"  # 流入地


class Authority(enum.Enum):
    ORIGIN = "origin"
    DESTINATION = "destination"
    NEWEST = "newest"


_MEMBER = fields_of("member")

#: canonical member field -> who wins; fields not listed take the newest value. Origin keeps
#: membership facts (党籍), destination residence, work and organisation life.
FIELD_AUTHORITY: Mapping[str, Authority] = {
    f.name: Authority(f.authority) for f in _MEMBER if f.authority != Authority.NEWEST.value
}

#: canonical member field -> the Python types a source's value may have
MEMBER_PYTHON_TYPES: Mapping[str, tuple[type, ...]] = {f.name: f.python_types for f in _MEMBER}


def _member_graphql_fields() -> dict[tuple[str, str], tuple[str, ...]]:
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for f in _MEMBER:
        for pair in f.graphql:
            out[pair] = (*out.get(pair, ()), f.name)
    return out


#: (GraphQL type, field) -> canonical member fields its value is read from
MEMBER_GRAPHQL_FIELDS: Mapping[tuple[str, str], tuple[str, ...]] = _member_graphql_fields()

#: the GraphQL types whose values belong to one member
MEMBER_GRAPHQL_TYPES: frozenset[str] = frozenset(t for t, _ in MEMBER_GRAPHQL_FIELDS)


def _graphql(fields: tuple[CanonicalField, ...]) -> frozenset[tuple[str, str]]:
    return frozenset(pair for f in fields for pair in f.graphql)


#: (GraphQL type, field) pairs that leave masked unless a contract grants more
MASKED_BY_DEFAULT: frozenset[tuple[str, str]] = _graphql(
    tuple(f for f in FIELDS if f.sensitivity in ("masked", "identifying")))
#: (GraphQL type, field) pairs masked even to the party whose own source holds them
IDENTIFYING: frozenset[tuple[str, str]] = _graphql(
    tuple(f for f in FIELDS if f.sensitivity == "identifying"))
#: masked pairs of the entities other than member (not governed field by field): masked to
#: other parties unless a contract grants more; their owner sees its own in full
MASKED_UNLESS_GRANTED: frozenset[tuple[str, str]] = _graphql(
    tuple(f for f in FIELDS if f.sensitivity == "masked" and f.entity != "member"))
