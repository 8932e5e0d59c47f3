"""The hub as an Apollo Federation 2 subgraph: `_service { sdl }` and a policed `_entities`.

A front-end team composes the hub into its supergraph instead of calling a second endpoint
(docs/federation.md). The subgraph schema is the published one plus what a router needs:

- `@link` to Federation 2 (strawberry.federation prints it for the directives in use);
- entity keys: `Member @key(fields: "key")`, `Organization @key(fields: "code")`,
  `Activity @key(fields: "id")` (the canonical model's natural keys: the keyed member hash,
  the organisation code every system shares, the activity's global id);
- `@shareable` on `PageInfo` and `Region` only: page metadata and a GB/T 2260 division (code,
  name) are the same value whichever subgraph answers; nothing about a member is;
- `@inaccessible` on the hub's operating surface (contracts, the audit log and its head,
  source health, data-quality issues, match candidates): it stays at the hub's own endpoint
  for the parties' operators and is not part of the supergraph's API.

The directives live only in this schema: they are put on the shared strawberry definitions
while the subgraph schema is built and its SDL printed, then taken off again, so the plain
published schema (schema/yanxing.graphql) is unchanged and the SDL printed here is the one
`_service { sdl }` answers.

`_entities` is `node(id:)` in batch: each representation goes through the same functions
(`member_by_key`, `organization_by_code`, `activity_by_key`), so row scope, field grants,
transforms, prohibitions and audit entries are those of `node`; an entity out of scope is null
exactly like one that does not exist. All representations are resolved concurrently, so each
type is one DataLoader batch (one load per type per request). How many a request may carry is
the per-request member limit, checked before execution (hub.api.extensions.limits) and again
here; the cost analysis counts each representation (hub.api.extensions.analysis).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import strawberry
from strawberry.federation import Schema as FederationSchema
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Inaccessible, Key, Shareable
from strawberry.federation.types import FieldSet
from strawberry.printer import print_schema
from strawberry.types import Info

from hub.api.context import Context
from hub.api.extensions.analysis import ENTITIES_FIELD
from hub.api.extensions.errors import QuietSchema
from hub.api.extensions.limits import entity_limit
from hub.api.inputs import BadUserInput
from hub.api.types.activity import Activity, activity_by_key
from hub.api.types.member import Member
from hub.api.types.node import from_global_id
from hub.api.types.organization import Organization, organization_by_code
from hub.api.types.pagination import PageInfo
from hub.api.types.region import Region
from hub.api.types.resolve import member_by_key
from hub.errors import LimitExceeded

__all__ = ["SubgraphSchema", "SubgraphQuery", "ENTITY_KEYS", "SHAREABLE", "INACCESSIBLE",
           "federation_directives", "entity_limit", "ENTITIES_FIELD"]

#: entity type -> the field its `@key` names (and a representation must carry)
ENTITY_KEYS: Mapping[type, str] = {Member: "key", Organization: "code", Activity: "id"}
#: value types whose every field another subgraph could serve identically
SHAREABLE: tuple[type, ...] = (PageInfo, Region)
#: Query fields (GraphQL names) of the hub's operating surface, kept out of the supergraph
INACCESSIBLE: frozenset[str] = frozenset({
    "contracts", "auditHead", "accessLog", "sources", "dataQualityIssues",
    "memberMatchCandidates",
})

Entity = Annotated[Member | Organization | Activity,
                   strawberry.union("_Entity", description="可由联邦路由按键获取的实体。 "
                                    "An entity a federation router fetches by its key.")]


def _key_of(representation: Any, index: int) -> tuple[str, str]:
    """(type name, key value) of one representation, or BAD_USER_INPUT naming what is wrong
    (never echoing the value: a key may be a member's)."""
    where = f"representations[{index}]"
    if not isinstance(representation, Mapping):
        raise BadUserInput(f"{where} must be an object with __typename and the entity's key")
    type_name = representation.get("__typename")
    field = next((f for t, f in ENTITY_KEYS.items() if t.__name__ == type_name), None)
    if field is None:
        names = ", ".join(t.__name__ for t in ENTITY_KEYS)
        raise BadUserInput(f"{where}.__typename must be one of {names}")
    value = representation.get(field)
    if not isinstance(value, str) or not value:
        raise BadUserInput(f"{where}.{field} must be a non-empty string (the @key of "
                           f"{type_name})")
    return str(type_name), value


async def _resolve(info: Info, representation: Any, index: int) -> Any:
    """One entity exactly as `node(id:)` resolves it; an error is the item's, not the list's."""
    try:
        type_name, value = _key_of(representation, index)
    except BadUserInput as exc:
        return exc
    if type_name == "Member":
        return await member_by_key(info, value)
    if type_name == "Organization":
        return await organization_by_code(info, value)
    kind, key = from_global_id(value)
    return await activity_by_key(info, key) if kind == "Activity" else None


@strawberry.type(name="_Service", description="子图服务信息（联邦路由用）。 The subgraph's "
                 "service description, for a federation router.")
class Service:
    sdl: str = strawberry.field(description="子图 SDL（含联邦指令）。 The subgraph SDL with its "
                                "federation directives.")


@strawberry.type
class SubgraphQuery:
    @strawberry.field(name="_service", description="子图 SDL。 The subgraph's SDL.")
    def service(self, info: Info) -> Service:
        return Service(sdl=info.schema.subgraph_sdl)  # type: ignore[attr-defined]

    @strawberry.field(name=ENTITIES_FIELD,
                      description="按键获取实体，与 `node(id:)` 同样受协议约束。"
                      " Entities by their keys, policed exactly like `node(id:)`.")
    async def entities(self, info: Info,
                       representations: list[FederationAny]) -> list[Entity | None]:
        ctx: Context = info.context
        limit = entity_limit(ctx)
        if len(representations) > limit:
            raise LimitExceeded(f"at most {limit} entity representations per request "
                                "(limits.max_members_per_request)")
        results = await asyncio.gather(*(_resolve(info, r, i)
                                         for i, r in enumerate(representations)))
        return list(results)


@contextlib.contextmanager
def federation_directives() -> Iterator[None]:
    """The federation directives on the shared type definitions, for as long as the subgraph
    schema is built and printed; the definitions are as they were afterwards."""
    saved: list[tuple[Any, list[object]]] = []

    def add(target: Any, directive: object) -> None:
        saved.append((target, list(target.directives or ())))
        target.directives = [*(target.directives or ()), directive]

    try:
        for type_, field in ENTITY_KEYS.items():
            add(type_.__strawberry_definition__, Key(fields=FieldSet(field)))  # type: ignore[attr-defined]
        for type_ in SHAREABLE:
            add(type_.__strawberry_definition__, Shareable())  # type: ignore[attr-defined]
        yield
    finally:
        for target, directives in reversed(saved):
            target.directives = directives


@contextlib.contextmanager
def _inaccessible(query: type) -> Iterator[None]:
    """`@inaccessible` on the operating-surface fields of this (merged) Query type."""
    definition = query.__strawberry_definition__  # type: ignore[attr-defined]
    saved = []
    try:
        for f in definition.fields:
            if f.graphql_name in INACCESSIBLE or (f.graphql_name is None and _camel(f.python_name)
                                                  in INACCESSIBLE):
                saved.append((f, list(f.directives)))
                f.directives = [*f.directives, Inaccessible()]
        yield
    finally:
        for f, directives in saved:
            f.directives = directives


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class SubgraphSchema(FederationSchema, QuietSchema):
    """The federation schema with the hub's quiet error handling; `subgraph_sdl` is its SDL
    with the federation directives (what `_service { sdl }` answers and
    `yanxing schema export --federation` writes)."""

    subgraph_sdl: str

    def __init__(self, *, query: type, **kwargs: Any) -> None:
        with federation_directives(), _inaccessible(query):
            super().__init__(query=query, federation_version="2.5", **kwargs)
            self.subgraph_sdl = print_schema(self).rstrip() + "\n"

    def as_str(self) -> str:
        return self.subgraph_sdl
