"""Every list of objects in the published schema has a bound the cost model uses and its
resolver enforces (issue 6): a new list field without one fails here, not in production."""

from __future__ import annotations

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type

from hub.api.extensions.analysis import (
    CAPPED_AT_MAX_LIST_SIZE,
    LIST_BOUNDS,
    PAGE_LISTS,
    PAGED_ARGUMENT,
)
from hub.api.schema import published_schema


def _is_object_list(type_: object) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(inner, GraphQLList) and isinstance(get_named_type(inner), GraphQLObjectType)


def test_every_list_of_objects_is_paged_or_bounded() -> None:
    schema = published_schema()._schema
    unbounded = []
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            if not _is_object_list(field.type) or PAGED_ARGUMENT in field.args:
                continue
            if type_.name.endswith("Connection") and name in PAGE_LISTS:
                continue
            key = (type_.name, name)
            if key not in LIST_BOUNDS and key not in CAPPED_AT_MAX_LIST_SIZE:
                unbounded.append(f"{type_.name}.{name}")
    assert unbounded == []
