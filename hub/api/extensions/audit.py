"""Audit: after every operation, hand what it did to the runtime's enforcement.

The decision (allowed, partial, denied), the members touched and the fields allowed and
denied are collected on the `Context` while the operation runs (hub.api.types.resolve,
hub.api.extensions.policy); this step only records them, once, whatever the outcome —
including operations refused before execution. An operation that never ran (a syntax or
validation error, a bad variable, a limit: errors without a path and no data) is recorded
as `rejected` with its error code, never as `allowed`. Without enforcement nothing is
recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from strawberry.extensions import SchemaExtension

from hub.api.context import Context
from hub.api.extensions.errors import error_code

__all__ = ["AuditExtension", "rejected_reason"]


def rejected_reason(result: Any) -> str | None:
    """The error code of an operation that did not run at all (None: it ran)."""
    errors = list(getattr(result, "errors", None) or [])
    if result is None or getattr(result, "data", None) is not None or not errors:
        return None
    if any(e.path is not None for e in errors):
        return None  # a resolver ran and failed: an access decision was made
    return error_code(errors[0]).lower()


class AuditExtension(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        yield
        ec = self.execution_context
        ctx = ec.context
        if isinstance(ctx, Context) and ctx.runtime.enforcement is not None and not ctx.audited:
            ctx.audited = True
            if not ctx.refused:
                ctx.rejected = rejected_reason(ec.result)
            await ctx.runtime.enforcement.record(ctx, ec.query, ec.operation_name)
