"""Build the published schema: the core Query plus whatever other packages contribute.

Stage 2 adds query types (e.g. `contracts`, `accessLog`) and mutations (`recordCheckIn`) with
`build_schema(extra_query_types=[ContractsQuery])`; modules listed in `PLUGINS` that exist and
export `QUERY_TYPES` / `MUTATION_TYPES` are merged in by `published_schema()`, which the app and
`yanxing schema export` both use, so the exported SDL is always the served one.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import cache

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from hub.api.extensions import (
    AuditExtension,
    DocumentCache,
    ErrorsExtension,
    IntrospectionGate,
    LimitsExtension,
    PolicyExtension,
    ValidationResultCache,
)
from hub.api.extensions.document_limits import DocumentLimits
from hub.api.extensions.errors import QuietSchema
from hub.api.extensions.policy import police_types
from hub.api.query import Query
from hub.api.types.activity import Activity
from hub.api.types.member import Member
from hub.api.types.organization import Organization
from hub.api.types.scalars import SCALAR_MAP

__all__ = ["build_schema", "published_schema", "PLUGINS", "print_sdl"]

#: optional modules contributing `QUERY_TYPES: Sequence[type]` (stage 2 packages)
PLUGINS: tuple[str, ...] = ("hub.contracts.graphql", "hub.audit.graphql")
MUTATION_DESCRIPTION = "雁行记录操作（须协议授予记录权限）。 Yanxing record actions; each needs a " \
    "contract's record permission for that action and member."


def build_schema(
    extra_query_types: Sequence[type] = (),
    *,
    extra_mutation_types: Sequence[type] = (),
    extra_types: Sequence[type] = (),
    extensions: Sequence[type[SchemaExtension] | SchemaExtension] = (),
) -> strawberry.Schema:
    """The schema with the core Query merged with `extra_query_types` (and a Mutation type
    merged from `extra_mutation_types`, when there are any).

    Parsing and validation are cached per operation text (hub.api.extensions.documents);
    every later step runs per request. The introspection gate adds its validation rule per
    request (by the Context's mode) before validation. Extensions run in this order: document
    size (refused before validation), limits (plan + refuse), policy (denied fields, transforms),
    then any `extensions` given, audit (records the decision), then error formatting (last,
    so it sees every error).
    """
    query = Query
    if extra_query_types:
        query = merge_types("Query", (Query, *extra_query_types))
        _describe(query, Query.__strawberry_definition__.description)  # type: ignore[attr-defined]
    mutation = None
    if extra_mutation_types:
        mutation = merge_types("Mutation", tuple(extra_mutation_types))
        _describe(mutation, MUTATION_DESCRIPTION)
    police_types()
    return QuietSchema(
        query=query,
        mutation=mutation,
        types=[Member, Organization, Activity, *extra_types],
        extensions=[IntrospectionGate, DocumentCache, DocumentLimits, ValidationResultCache,
                    LimitsExtension, PolicyExtension, *extensions, AuditExtension,
                    ErrorsExtension],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )


def _describe(merged: type, description: str | None) -> None:
    """`merge_types` drops the description; every published type carries one."""
    merged.__strawberry_definition__.description = description  # type: ignore[attr-defined]


def _plugin_types(attribute: str) -> list[type]:
    found: list[type] = []
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that stage is not installed
            raise
        found.extend(getattr(module, attribute, ()))
    return found


@cache
def published_schema() -> strawberry.Schema:
    return build_schema(_plugin_types("QUERY_TYPES"),
                        extra_mutation_types=_plugin_types("MUTATION_TYPES"))


def print_sdl(schema: strawberry.Schema | None = None) -> str:
    return (schema or published_schema()).as_str().rstrip() + "\n"
