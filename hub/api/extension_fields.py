"""`Member.extensions`: a deployment's own member fields, typed, in that deployment's schema only.

A deployment declares extension fields in yanxing.toml (`[extensions.member.<name>]`: type,
Chinese label, sensitivity; connectors.extensions) and maps them like canonical fields; sync
stores each record's values with its link (`source_links.extensions`). This module adds them
to a schema built for that deployment: a `MemberExtensions` type with one typed field per
declaration (String, Int, Float, Boolean, PartialDate) and `Member.extensions`. The core SDL
(`schema/yanxing.graphql`) never has them: a type without fields is not valid GraphQL, so the
core schema has no `MemberExtensions` and no `Member.extensions` at all, and a deployment
without extensions serves exactly the core schema. `yanxing schema export --config FILE`
writes a deployment's SDL.

Values are merged like canonical ones (newest record wins; an auxiliary source only fills
gaps) and leave through the policy point: the owner of a value is the party of the system
whose value won, contracts grant `MemberExtensions.<field>` like any member field, and the
declared sensitivity adds what the canonical table does for its own fields: "masked" leaves
masked when the hub runs without contracts, "identifying" also to the party holding it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
)
from sqlalchemy import select
from strawberry.dataloader import DataLoader

from connectors.extensions import EXTENSION_PREFIX, ExtensionField
from hub.api.extensions.policy import policed_value
from hub.clock import as_utc
from hub.federation.merge import SourcedValue, merge_values
from hub.model import Side
from hub.policy.base import Subject, Transform
from hub.policy.masking import MASKED_FIELDS, MaskingPolicy
from hub.policy.transforms import apply
from hub.store.models import SourceLinkRow

if TYPE_CHECKING:
    from hub.api.context import Context
    from hub.api.types.member import Member

__all__ = ["EXTENSIONS_TYPE", "install_extensions", "ExtensionLoader", "deployment_schema",
           "deployment_sdl", "masking_policy"]

#: the GraphQL type holding a deployment's extension fields (absent from the core SDL)
EXTENSIONS_TYPE = "MemberExtensions"


class ExtensionLoader:
    """member key -> extension name -> the winning value (one query per batch of members)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.values: DataLoader[str, dict[str, SourcedValue]] = DataLoader(self._load)

    async def _load(self, keys: Sequence[str]) -> list[dict[str, SourcedValue]]:
        links: dict[str, list[tuple[str, Side, dict[str, Any], datetime | None]]] = \
            defaultdict(list)
        auxiliary: dict[str, frozenset[str]] = {}
        stmt = (select(SourceLinkRow.member_key, SourceLinkRow.source, SourceLinkRow.side,
                       SourceLinkRow.extensions, SourceLinkRow.auxiliary,
                       SourceLinkRow.source_updated_at)
                .where(SourceLinkRow.member_key.in_(keys),
                       SourceLinkRow.extensions.is_not(None))
                .order_by(SourceLinkRow.id))
        async with self.ctx.runtime.session_factory() as session:
            for key, source, side, values, aux, stamp in (await session.execute(stmt)).all():
                if not isinstance(values, dict) or not values:
                    continue
                links[key].append((source, Side(side or Side.DESTINATION.value), values,
                                   as_utc(stamp)))
                auxiliary[source] = frozenset(n[len(EXTENSION_PREFIX):] for n in aux or ()
                                              if n.startswith(EXTENSION_PREFIX))
        return [merge_values(links[k], auxiliary) if k in links else {} for k in keys]


class _Extensions:
    """The value of `Member.extensions`: the member, and the winners once loaded."""

    def __init__(self, member: Member) -> None:
        self.member = member
        self.winners: dict[str, SourcedValue] = {}
        #: GraphQL field name -> extension name
        self.names: dict[str, str] = {}

    def policy_subject(self) -> Subject | None:
        return self.member._subject

    def policy_owner(self, ctx: Context, field: str) -> str | None:
        winner = self.winners.get(self.names.get(field, ""))
        return None if winner is None else ctx.runtime.registry.owner_of(winner.source)


def _loader(ctx: Context) -> ExtensionLoader:
    loader: ExtensionLoader = ctx.loaders.extension_values
    return loader


def _resolver(field: ExtensionField) -> Any:
    async def resolve(root: _Extensions, info: GraphQLResolveInfo[Any]) -> Any:
        ctx: Context = info.context
        root.winners = await _loader(ctx).values.load(root.member.key)
        root.names[field.graphql_name] = field.name
        winner = root.winners.get(field.name)
        value = None if winner is None else winner.value
        owner = root.policy_owner(ctx, field.graphql_name)
        transform = ctx.decisions.transform(root.policy_subject(), EXTENSIONS_TYPE,
                                            field.graphql_name, owner)
        if transform is Transform.DENY or value is None:
            return policed_value(ctx, root, EXTENSIONS_TYPE,  # type: ignore[arg-type]
                                 field.graphql_name, value)
        # the policy masks its own masked pairs (`masking_policy` without contracts); under
        # contracts an identifying value is masked to the party holding it, as an ID number is
        if (transform is Transform.FULL and field.sensitivity == "identifying"
                and owner is not None and owner == ctx.caller.party):
            transform = Transform.MASKED
        if transform is Transform.FULL:
            return value
        if (isinstance(value, str) and transform is not Transform.YEAR) or \
                field.type == "date":
            return apply(transform, field.name, value, hash_key=ctx.runtime.hash_key) \
                if field.type in ("string", "date") else None
        return None  # a number or a yes/no has no partial form

    return resolve


def masking_policy(fields: Sequence[ExtensionField]) -> MaskingPolicy:
    """The policy without contracts for a deployment: the canonical masked fields, and its
    extension fields declared masked or identifying."""
    return MaskingPolicy(MASKED_FIELDS | {(EXTENSIONS_TYPE, f.graphql_name) for f in fields
                                          if f.sensitivity != "ordinary"})


def _graphql_type(field: ExtensionField, date: GraphQLScalarType) -> GraphQLOutputType:
    return {"string": GraphQLString, "int": GraphQLInt, "float": GraphQLFloat,
            "bool": GraphQLBoolean, "date": date}[field.type]


def install_extensions(schema: strawberry.Schema,
                       fields: Sequence[ExtensionField]) -> strawberry.Schema:
    """Add `MemberExtensions` and `Member.extensions` to `schema` (one built for this
    deployment alone: its types are changed in place). No fields: the schema is unchanged."""
    if not fields:
        return schema
    core = schema._schema
    date = core.type_map["PartialDate"]
    assert isinstance(date, GraphQLScalarType)
    extensions = GraphQLObjectType(
        EXTENSIONS_TYPE,
        {f.graphql_name: GraphQLField(
            _graphql_type(f, date), resolve=_resolver(f),
            description=f"{f.label}（本部署扩展字段，{f.type}）。 Deployment extension field "
            f"`{f.name}` ({f.type}, {f.sensitivity}).")
         for f in fields},
        description="本部署的党员扩展字段（yanxing.toml [extensions.member]）。 This "
        "deployment's extension fields of members, declared in yanxing.toml.",
    )
    member = core.type_map["Member"]
    assert isinstance(member, GraphQLObjectType)
    member.fields["extensions"] = GraphQLField(
        GraphQLNonNull(extensions), resolve=lambda root, info: _Extensions(root),
        description="本部署的扩展字段（按协议授予与脱敏）。 This deployment's extension fields, "
        "each policed and masked like any member field.")
    core.type_map[EXTENSIONS_TYPE] = extensions
    return schema


def deployment_schema(fields: Sequence[ExtensionField], *,
                      federation: bool = False) -> strawberry.Schema:
    """The schema a deployment with these extension fields serves: a fresh build of the
    published one (never the cached core schema, whose types must stay as published), with
    the extensions installed."""
    from hub.api.schema import fresh_published_schema

    return install_extensions(fresh_published_schema(federation=federation), fields)


def deployment_sdl(fields: Sequence[ExtensionField]) -> str:
    """The deployment's SDL (`yanxing schema export --config`): the core SDL's printer over
    the deployment schema."""
    from hub.api.schema import print_sdl

    return print_sdl(deployment_schema(fields))
