"""Audit: after every operation, hand what it did to the runtime's enforcement.

The decision (allowed, partial, denied), the members touched and the fields allowed and
denied are collected on the `Context` while the operation runs (hub.api.types.resolve,
hub.api.extensions.policy); this step only records them, once, whatever the outcome —
including operations refused before execution. Stage 1 (no enforcement) records nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from hub.api.context import Context

__all__ = ["AuditExtension"]


class AuditExtension(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        yield
        ec = self.execution_context
        ctx = ec.context
        if isinstance(ctx, Context) and ctx.runtime.enforcement is not None and not ctx.audited:
            ctx.audited = True
            await ctx.runtime.enforcement.record(ctx, ec.query, ec.operation_name)
