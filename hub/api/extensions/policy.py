"""The policy point of the API: the one place every member and organisation value leaves.

Two steps, both calling the request's `Policy` (hub.policy.base):
1. before execution, `denied_fields(caller, requested)` over every (type, field) the operation
   can reach (aliases, fragments, interfaces, connections): any answer refuses the whole
   operation with CONTRACT_DENIED naming the fields;
2. on every field of a policed object (hub.api.types.policed), `transform(caller, subject,
   type, field, owner)` decides how the value leaves, applied by `hub.policy.transforms.apply`.
   DENY nulls the field with a CONTRACT_DENIED error at its path.
Row scope (`can_see`) is applied where members are made (hub.api.types.resolve, hub.api.scope).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension

from hub.api.context import Context
from hub.api.extensions.limits import refuse
from hub.api.types.policed import PolicedObject
from hub.errors import AccessDenied
from hub.policy.base import Transform
from hub.policy.transforms import apply

__all__ = ["PolicyExtension"]


def _leave(ctx: Context, root: PolicedObject, info: GraphQLResolveInfo, value: Any) -> Any:
    type_name, field = info.parent_type.name, info.field_name
    transform = ctx.active_policy.transform(
        ctx.caller, root.policy_subject(), type_name, field, root.policy_owner(ctx, field)
    )
    if transform is Transform.FULL:
        return value
    if transform is Transform.DENY:
        if value is None and root.policy_owner(ctx, field) is None:
            return None  # nothing was read (the source was not asked): nothing to deny
        ctx.fields_denied.add(f"{type_name}.{field}")
        raise AccessDenied(f"{type_name}.{field} is not granted to this caller",
                           fields=[f"{type_name}.{field}"])
    if value is None or isinstance(value, (PolicedObject, list)):
        return value  # objects and lists are policed field by field below them
    return apply(transform, field, value, hash_key=ctx.runtime.hash_key)


class PolicyExtension(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = ec.context
        if isinstance(ctx, Context) and ctx.plan is not None and not ec.result:
            denied = ctx.active_policy.denied_fields(ctx.caller, ctx.plan.requested)
            names = sorted(f"{t}.{f}" for t, fs in denied.items() for f in fs)
            if names:
                ctx.refused = True
                ctx.fields_denied.update(names)
                refuse(self, AccessDenied(
                    "not granted to this caller: " + ", ".join(names), fields=names))
        yield

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo,
        *args: Any, **kwargs: Any,
    ) -> Any:
        result = _next(root, info, *args, **kwargs)
        if not isinstance(root, PolicedObject):
            return result
        ctx: Context = info.context
        if inspect.isawaitable(result):
            async def leave_later() -> Any:
                return _leave(ctx, root, info, await result)

            return leave_later()
        return _leave(ctx, root, info, result)
