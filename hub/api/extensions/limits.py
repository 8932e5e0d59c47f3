"""Depth, cost and page-size limits, checked on the whole operation before it runs.

Refusing before execution means an expensive query never touches a source. The plan computed
here (hub.api.extensions.analysis) is kept on the context for the policy step and the loaders.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension

from hub.api.context import Context
from hub.api.extensions.analysis import analyse
from hub.errors import HubError, LimitExceeded

__all__ = ["LimitsExtension", "refuse", "entity_limit"]


def refuse(extension: SchemaExtension, error: HubError) -> None:
    """Skip execution: the operation is answered with `error` alone (and no data)."""
    extension.execution_context.result = ExecutionResult(
        data=None, errors=[GraphQLError(str(error), original_error=error)]
    )


def entity_limit(ctx: Context) -> int:
    """Each `_entities` representation is a member read: the per-request member limit, as
    tightened by the contracts in play (as the member-details loader applies it)."""
    limit = ctx.runtime.limits.max_members_per_request
    return min(limit, ctx.decisions.max_members_per_request() or limit)


class LimitsExtension(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = ec.context
        if isinstance(ctx, Context) and ec.graphql_document is not None and not ec.result:
            limits = ctx.runtime.limits
            plan = analyse(
                ec.schema._schema, ec.graphql_document, ec.operation_name, ec.variables,
                default_page=limits.default_page_size, max_list_size=limits.max_list_size,
            )
            ctx.plan = plan
            if plan.depth > limits.max_depth:
                refuse(self, LimitExceeded(
                    f"query depth {plan.depth} exceeds the limit of {limits.max_depth}"))
            elif plan.max_first > limits.max_page_size:
                refuse(self, LimitExceeded(
                    f"`first` is {plan.max_first}; at most {limits.max_page_size} per page"))
            elif plan.entities > entity_limit(ctx):
                refuse(self, LimitExceeded(
                    f"{plan.entities} entity representations; at most {entity_limit(ctx)} "
                    "per request (limits.max_members_per_request)"))
            elif plan.cost > limits.max_cost:
                refuse(self, LimitExceeded(
                    f"query cost {plan.cost} exceeds the limit of {limits.max_cost}; ask for "
                    "fewer fields or smaller pages"))
        yield
