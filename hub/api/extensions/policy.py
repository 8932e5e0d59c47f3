"""The policy point of the API: the one place every member and organisation value leaves.

Two steps, both calling the request's `Policy` (hub.policy.base):
1. before execution, `denied_fields(caller, requested)` over every (type, field) the operation
   can reach (aliases, fragments, interfaces, connections): any answer refuses the whole
   operation with CONTRACT_DENIED naming the fields;
2. on every field of a policed object (hub.api.types.policed), `transform(caller, subject,
   type, field, owner)` decides how the value leaves, applied by `hub.policy.transforms.apply`
   in `policed_value` (the field extension `PolicyField`, attached to every field of every
   policed type by `police_types`; for fields without arguments the schema calls the same
   steps through a resolver built once, hub.api.extensions.policed_fields, and a member's live
   fields decide with `leave`, policed_value's tail, in `_MemberPart.direct_resolver`).
   DENY nulls the field with a CONTRACT_DENIED error at its path.
Row scope (`can_see`) is applied where members are made (hub.api.types.resolve, hub.api.scope).

Filters are checked in step 1 too (their routing values first: a region code that is not six
digits is BAD_USER_INPUT before the policy decides anything from it, hub.api.inputs): each
filter argument of a list field (QueryPlan.filters, literal or variable) tests one (type,
field), and `totalCount` over a filtered list reveals it as surely as selecting it.
`Policy.filter_allowed` (the contract policy's rule is in its module docstring) refuses a filter
on a field the caller may not see in full with CONTRACT_DENIED naming the argument and the
field; the open answer (BasePolicy) filters freely.
Every question goes through the request's `Decisions` (ctx.decisions), asked once each.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.types import Info

from hub.api.context import Context
from hub.api.extensions.analysis import FilterUse
from hub.api.extensions.limits import refuse
from hub.api.inputs import ROUTING_CHECKS, BadUserInput
from hub.api.types.pagination import Connection
from hub.api.types.policed import PolicedObject
from hub.errors import AccessDenied
from hub.policy.base import Transform
from hub.policy.transforms import apply

__all__ = ["PolicyExtension", "PolicyField", "policed_value", "leave", "police_types"]


def policed_value(ctx: Context, root: PolicedObject, type_name: str, field: str,
                  value: Any) -> Any:
    """How `value` of `type_name.field` of `root` leaves: the one function that applies the
    policy to a value (called by `PolicyField` on every field of every policed type)."""
    owner = root.policy_owner(ctx, field)
    transform = ctx.decisions.transform(root.policy_subject(), type_name, field, owner)
    if transform is Transform.FULL:
        return value
    return leave(ctx, transform, type_name, field, value, owner)


def leave(ctx: Context, transform: Transform, type_name: str, field: str, value: Any,
          owner: str | None) -> Any:
    """How `value` leaves under `transform` (decided for `owner`): the rest of
    `policed_value`, for a resolver that has decided the transform itself as it does."""
    if transform is Transform.FULL:
        return value
    if transform is Transform.DENY:
        if value is None and owner is None:
            return None  # nothing was read (the source was not asked): nothing to deny
        ctx.access.denied(f"{type_name}.{field}")
        raise AccessDenied(f"{type_name}.{field} is not granted to this caller",
                           fields=[f"{type_name}.{field}"])
    if value is None or isinstance(value, (PolicedObject, list, Connection)) \
            or hasattr(value, "__strawberry_definition__"):
        return value  # objects, lists and pages are policed below them (or were made of what
        # the caller may see, as a member's study records are)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None  # a number (a row, a sum) has no partial form: short of full is nothing
    return apply(transform, field, value, hash_key=ctx.runtime.hash_key)


class PolicyField(FieldExtension):
    """Step 2 on one field: its resolver's value leaves through `policed_value`. Attached to
    every field of every `PolicedObject` type by `police_types` (a field extension, not a schema
    `resolve` hook, so connections, page info and the like pay nothing). Resolvers may answer
    synchronously or with an awaitable; the policy is applied synchronously when they do."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info,
                **kwargs: Any) -> Any:
        result = next_(source, info, **kwargs)
        if inspect.isawaitable(result):
            return self._later(source, info, result)
        return policed_value(info.context, source, self.type_name, info.field_name, result)

    async def resolve_async(self, next_: Callable[..., Any], source: Any, info: Info,
                            **kwargs: Any) -> Any:
        result = await next_(source, info, **kwargs)
        return policed_value(info.context, source, self.type_name, info.field_name, result)

    async def _later(self, source: Any, info: Info, result: Awaitable[Any]) -> Any:
        value = await result
        return policed_value(info.context, source, self.type_name, info.field_name, value)


def police_types() -> None:
    """Attach `PolicyField` to every field of every strawberry type that is a
    `PolicedObject` (idempotent; `build_schema` calls it before building a schema)."""
    pending = list(PolicedObject.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        definition = getattr(cls, "__strawberry_definition__", None)
        if definition is None:
            continue
        for f in definition.fields:
            if not any(isinstance(e, PolicyField) for e in f.extensions):
                f.extensions.append(PolicyField(definition.name))


class PolicyExtension(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = ec.context
        if isinstance(ctx, Context) and ctx.plan is not None and not ec.result:
            invalid = _invalid_routing_value(ctx)
            if invalid is not None:
                ctx.access.refused()
                refuse(self, invalid)
                yield
                return
            denied = ctx.decisions.denied_fields(ctx.plan.requested)
            names = sorted(f"{t}.{f}" for t, fs in denied.items() for f in fs)
            filters = _denied_filters(ctx)
            if names or filters:
                tested = sorted({f"{u.type_name}.{u.field_name}" for u in filters})
                ctx.access.refused(*names, *tested)
                parts = []
                if names:
                    parts.append("not granted to this caller: " + ", ".join(names))
                if filters:
                    parts.append("filter not allowed (needs the field in full for every "
                                 "member it ranges over): " + ", ".join(sorted(
                                     {f"{u.argument} tests {u.type_name}.{u.field_name}"
                                      for u in filters})))
                refused_by = [title for u in filters for title in ctx.decisions.filter_refused_by(
                    u.type_name, u.field_name, routing=u.routing, value=u.value)]
                refuse(self, AccessDenied("; ".join(parts), fields=[*names, *tested],
                                          contracts=refused_by))
        yield


def _invalid_routing_value(ctx: Context) -> BadUserInput | None:
    """The policy decides a routing filter from its value: a value that is not one of its
    type (a region code with a `%` in it) is refused before the policy is asked."""
    assert ctx.plan is not None
    for use in ctx.plan.filters:
        check = ROUTING_CHECKS.get(use.routing or "")
        if check is None or use.value is None:
            continue
        try:
            check(use.value, use.argument)
        except BadUserInput as exc:
            return exc
    return None


def _denied_filters(ctx: Context) -> list[FilterUse]:
    assert ctx.plan is not None
    allowed = ctx.decisions.filter_allowed
    return [u for u in ctx.plan.filters
            if not allowed(u.type_name, u.field_name, routing=u.routing, value=u.value)]
