"""Build the published schema: the core Query plus whatever other packages contribute.

Other packages' GraphQL types (contracts, the audit log) live in `hub.api.types` beside the
core types, since the API imports the domain and never the other way round. The modules in
`PLUGINS` export `QUERY_TYPES` / `MUTATION_TYPES`; `published_schema()` merges them into the
core Query (and a Mutation), and the app and `yanxing schema export` both use it, so the
exported SDL is always the served one. `PLUGINS` is a tuple of modules, not of names to
import: what the schema is made of is visible to a reader and to the import-layer test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from types import ModuleType

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
from hub.api.extensions.policed_fields import PolicedExecutor, direct_policed_resolvers
from hub.api.extensions.policy import police_types
from hub.api.types import audit as audit_types
from hub.api.types import checkin as checkin_types
from hub.api.types import contracts as contract_types
from hub.api.types import events as event_types
from hub.api.types import exchange as exchange_types
from hub.api.types import letters as letter_types
from hub.api.types import obligations as obligation_types
from hub.api.types import orglife as orglife_types
from hub.api.types import points as points_types
from hub.api.types import reconcile as reconcile_types
from hub.api.types import reports as reports_types
from hub.api.types import statistics as statistics_types
from hub.api.types import tasks as task_types
from hub.api.types import transfers as transfer_types
from hub.api.types.activity import Activity
from hub.api.types.member import Member
from hub.api.types.organization import Organization
from hub.api.types.query import Query
from hub.api.types.scalars import SCALAR_MAP

__all__ = ["build_schema", "published_schema", "subgraph_schema", "PLUGINS", "print_sdl",
           "print_subgraph_sdl", "fresh_published_schema"]

#: modules contributing `QUERY_TYPES` / `MUTATION_TYPES: Sequence[type]`, merged in this order
PLUGINS: tuple[ModuleType, ...] = (contract_types, audit_types, exchange_types, checkin_types,
                                   reports_types, event_types,
                                   reconcile_types, letter_types, transfer_types,
                                   task_types, points_types, orglife_types,
                                   obligation_types, statistics_types)
SUBSCRIPTION_DESCRIPTION = (
    "雁行实时推送（graphql-transport-ws，连接时在 connection_init 中携带令牌）。 Yanxing live "
    "events over graphql-transport-ws at /graphql; send the party token in connection_init."
)
MUTATION_DESCRIPTION = (
    "雁行记录操作（须协议授予记录权限）。 Yanxing record actions; each needs a "
    "contract's record permission for that action and member."
)


def build_schema(
    extra_query_types: Sequence[type] = (),
    *,
    extra_mutation_types: Sequence[type] = (),
    extra_subscription_types: Sequence[type] = (),
    extra_types: Sequence[type] = (),
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    federation: bool = False,
) -> strawberry.Schema:
    """The schema with the core Query merged with `extra_query_types` (and a Mutation type
    merged from `extra_mutation_types`, when there are any).

    Parsing and validation are cached per operation text (hub.api.extensions.documents);
    every later step runs per request. The introspection gate adds its validation rule per
    request (by the Context's mode) before validation. Extensions run in this order: document
    size (refused before validation), limits (plan + refuse), policy (denied fields, transforms),
    then any `extensions` given, audit (records the decision), then error formatting (last,
    so it sees every error).

    `federation`: the Apollo Federation 2 subgraph schema (hub.api.subgraph) instead, with
    `_service` and the policed `_entities`; the same types, resolvers and extensions.
    """
    query: type = Query
    if federation:
        from hub.api.subgraph import SubgraphQuery

        extra_query_types = (*extra_query_types, SubgraphQuery)
    if extra_query_types:
        query = merge_types("Query", (Query, *extra_query_types))
        _describe(query, Query.__strawberry_definition__.description)  # type: ignore[attr-defined]
    mutation = None
    if extra_mutation_types:
        mutation = merge_types("Mutation", tuple(extra_mutation_types))
        _describe(mutation, MUTATION_DESCRIPTION)
    subscription = None
    if extra_subscription_types:
        subscription = merge_types("Subscription", tuple(extra_subscription_types))
        _describe(subscription, SUBSCRIPTION_DESCRIPTION)
    police_types()
    schema_class: type[strawberry.Schema] = QuietSchema
    if federation:
        from hub.api.subgraph import SubgraphSchema

        schema_class = SubgraphSchema
    schema = schema_class(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=[Member, Organization, Activity, *extra_types],
        extensions=[IntrospectionGate, DocumentCache, DocumentLimits, ValidationResultCache,
                    LimitsExtension, PolicyExtension, *extensions, AuditExtension,
                    ErrorsExtension],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=PolicedExecutor,
    )
    direct_policed_resolvers(schema)
    return schema


def _describe(merged: type, description: str | None) -> None:
    """`merge_types` drops the description; every published type carries one."""
    merged.__strawberry_definition__.description = description  # type: ignore[attr-defined]


def _plugin_types(attribute: str) -> list[type]:
    return [t for module in PLUGINS for t in getattr(module, attribute, ())]


@cache
def published_schema() -> strawberry.Schema:
    return build_schema(_plugin_types("QUERY_TYPES"),
                        extra_mutation_types=_plugin_types("MUTATION_TYPES"),
                        extra_subscription_types=_plugin_types("SUBSCRIPTION_TYPES"))


@cache
def subgraph_schema() -> strawberry.Schema:
    """The published schema as an Apollo Federation 2 subgraph (`[hub] federation = true`)."""
    return build_schema(_plugin_types("QUERY_TYPES"),
                        extra_mutation_types=_plugin_types("MUTATION_TYPES"),
                        extra_subscription_types=_plugin_types("SUBSCRIPTION_TYPES"),
                        federation=True)


def fresh_published_schema(*, federation: bool = False) -> strawberry.Schema:
    """A new build of the published (or subgraph) schema, not the cached one: for a caller
    that adds to its types, as a deployment's extension fields do (hub.api.extension_fields)."""
    return build_schema(_plugin_types("QUERY_TYPES"),
                        extra_mutation_types=_plugin_types("MUTATION_TYPES"),
                        federation=federation)


def print_subgraph_sdl() -> str:
    """The subgraph SDL, with its federation directives (what `_service { sdl }` answers)."""
    return subgraph_schema().as_str()


def print_sdl(schema: strawberry.Schema | None = None) -> str:
    return (schema or published_schema()).as_str().rstrip() + "\n"
