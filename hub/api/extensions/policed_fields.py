"""Direct resolvers for the fields of policed types: the policy point without strawberry's
per-field wrapper.

Strawberry resolves a field with a field extension through a generic chain, rebuilt on every
call: argument conversion (even for a field without arguments), the resolver's reserved
parameters looked up again, the extension chain folded with `functools.reduce` and `partial`,
then the extension (`PolicyField`), then the resolver. A 50-member page has ~300 such fields,
and the chain was most of the hub's CPU per page (issue 11: ~20 Python calls per field before
the resolver ran).

`direct_policed_resolvers(schema)` replaces, once per built schema, the graphql-core resolver
of every field of a policed type whose chain is exactly that (no arguments, `PolicyField` its
only extension, no exception handlers) with a closure doing the same steps with everything
decided at build time: the resolver called with the source as `self` and a strawberry `Info`
as strawberry would pass them, its value (awaited when it is awaitable) leaving through
`policed_value`, as `PolicyField` does. Fields with arguments or other extensions keep
strawberry's resolver (and `PolicyField`): the schema, its SDL and every answer are unchanged.
A resolver that needs no resolve info (an attribute, a method of `self` alone, a member's live
value) keeps its `at_once(source, context)` form on it, which the completion plans of
hub.api.extensions.field_plans call per object without building the info.

`PolicedExecutor` (the schema's execution context) completes the selections of policed objects
by plan, and outside a plan (a member whose live values are not loaded yet) a direct field of
a nullable scalar or enum type itself: graphql-core's `complete_value` would test the type for
non-null, list and leaf on every value before coercing it; the direct field's type is known at
build time. Everything else (arguments, middleware, awaited values, errors) takes
graphql-core's own path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import strawberry
from graphql import (
    GraphQLObjectType,
    GraphQLResolveInfo,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from hub.api.extensions.field_plans import PlannedExecutor
from hub.api.extensions.policy import PolicyField, policed_value
from hub.api.types.policed import LATER, PolicedObject

__all__ = ["direct_policed_resolvers", "is_direct", "PolicedExecutor"]

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
#: what a leaf resolver mostly answers, never awaitable (is_awaitable is a call per value)
_PLAIN: frozenset[type] = frozenset({type(None), str, int, float, bool})


def direct_policed_resolvers(schema: strawberry.Schema) -> int:
    """Install the direct resolvers in `schema` (idempotent); the number of fields changed."""
    converter = schema.schema_converter
    info_class = schema.config.info_class
    changed = 0
    for gql_type in schema._schema.type_map.values():
        if not isinstance(gql_type, GraphQLObjectType):
            continue
        definition = (gql_type.extensions or {}).get(_BACKREF)
        if not isinstance(definition, StrawberryObjectDefinition) or not (
                isinstance(definition.origin, type)
                and issubclass(definition.origin, PolicedObject)):
            continue
        for name, gql_field in gql_type.fields.items():
            field = (gql_field.extensions or {}).get(_BACKREF)
            if not isinstance(field, StrawberryField) or is_direct(gql_field.resolve):
                continue
            if gql_field.args or field.arguments or \
                    converter._get_field_exception_handlers(field):
                continue
            policy = [e for e in field.extensions if isinstance(e, PolicyField)]
            if len(policy) != 1 or len(field.extensions) != 1:
                continue
            resolve = _direct(field, policy[0].type_name, name, info_class)
            if resolve is not None and field.base_resolver is not None and not field.is_async:
                # the type may know a shorter way to the same answer (a member's live values)
                at_once = definition.origin.direct_resolver(
                    policy[0].type_name, name,
                    cast(Callable[..., Any], field.base_resolver.wrapped_func))
                if at_once is not None:
                    resolve = _through(at_once, general=resolve)
            if resolve is not None:
                # a nullable scalar or enum: PolicedExecutor completes it directly
                resolve._policed_leaf = is_leaf_type(gql_field.type)  # type: ignore[attr-defined]
                gql_field.resolve = resolve
                changed += 1
    return changed


def is_direct(resolve: Any) -> bool:
    """Is this graphql-core resolver one of `direct_policed_resolvers`'?"""
    return getattr(resolve, "_policed_direct", False)


def _direct(field: StrawberryField, type_name: str, field_name: str,
            info_class: type[Any]) -> Callable[..., Any] | None:
    """The resolver of one field, or None when its resolver takes what this does not pass.
    A resolver that needs no resolve info (an attribute, a method of `self` alone) is built
    around its `at_once` form, which completion plans call without one."""
    base = field.base_resolver
    if base is None:
        attribute = field.python_name

        def attribute_at_once(source: Any, ctx: Any) -> Any:
            return policed_value(ctx, source, type_name, field_name, getattr(source, attribute))

        return _through(attribute_at_once, default=True)
    params = list(base.signature.parameters.values())
    if base.self_parameter is None or params[0] is not base.self_parameter or \
            params[1:] not in ([], [base.info_parameter]) or \
            any(p.kind is not p.POSITIONAL_OR_KEYWORD for p in params):
        return None  # other parameters (root, parent, keywords): keep strawberry's resolver
    func: Callable[..., Any] = base.wrapped_func  # type: ignore[assignment]
    with_info = base.info_parameter is not None

    if field.is_async:
        async def resolve_async(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            if with_info:
                value = await func(source, info_class(_raw_info=info, _field=field))
            else:
                value = await func(source)
            return policed_value(info.context, source, type_name, field_name, value)

        return _mark(resolve_async)

    async def later(source: Any, ctx: Any, result: Any) -> Any:
        return policed_value(ctx, source, type_name, field_name, await result)

    if not with_info:
        def plain_at_once(source: Any, ctx: Any) -> Any:
            result = func(source)
            if optimized_is_awaitable(result):
                return later(source, ctx, result)
            return policed_value(ctx, source, type_name, field_name, result)

        return _through(plain_at_once)

    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        result = func(source, info_class(_raw_info=info, _field=field))
        if optimized_is_awaitable(result):
            return later(source, info.context, result)
        return policed_value(info.context, source, type_name, field_name, result)

    return _mark(resolve)


def _through(at_once: Callable[[Any, Any], Any], *, general: Callable[..., Any] | None = None,
             default: bool = False) -> Callable[..., Any]:
    """The graphql-core resolver calling `at_once(source, context)`; when that answers
    `LATER`, `general(source, info)` answers instead. `at_once` is kept on the resolver for
    the completion plans (hub.api.extensions.field_plans), which call it directly."""
    if general is None:
        def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return at_once(source, info.context)
    else:
        fallback = general

        def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            value = at_once(source, info.context)
            return fallback(source, info) if value is LATER else value

    resolve._policed_at_once = at_once  # type: ignore[attr-defined]
    return _mark(resolve, default=default)


def _mark(resolve: Callable[..., Any], *, default: bool = False) -> Callable[..., Any]:
    resolve._policed_direct = True  # type: ignore[attr-defined]
    resolve._is_default = default  # type: ignore[attr-defined]  # as strawberry marks its own
    return resolve


class PolicedExecutor(PlannedExecutor):
    """Strawberry's execution context, completing the selections of policed objects by plan
    (hub.api.extensions.field_plans) and a direct leaf field outside a plan without
    graphql-core's type dispatch (see the module docstring); every other field is
    graphql-core's."""

    def execute_field(self, parent_type: GraphQLObjectType, source: Any,
                      field_details_list: FieldDetailsList, path: Path,
                      position_context: Any) -> Any:
        node = field_details_list[0].node
        field_def = parent_type.fields.get(node.name.value)
        if field_def is None or not getattr(field_def.resolve, "_policed_leaf", False) \
                or node.arguments or (self.middleware_manager is not None
                                     and self.middleware_manager.middlewares):
            return super().execute_field(parent_type, source, field_details_list, path,
                                         position_context)
        return_type = field_def.type
        info = self.build_resolve_info(field_def, [d.node for d in field_details_list],
                                       parent_type, path)
        try:
            result = field_def.resolve(source, info)
            if type(result) not in _PLAIN and self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, field_details_list, info,
                                                     path, result, position_context)
            if isinstance(result, Exception):
                raise result
            if result is None or result is Undefined:
                return None
            return self.complete_leaf_value(return_type, result)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
