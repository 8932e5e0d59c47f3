"""Audit: after every operation, hand what it did to the runtime's enforcement.

The decision (allowed, partial, denied), the members touched and the fields allowed and
denied are collected on the `Context` while the operation runs (hub.api.types.resolve,
hub.api.extensions.policy); this step turns them into one plain `AccessRecord`
(`access_record`: the audit log never sees the API's Context) and records it, once, whatever
the outcome —
including operations refused before execution. An operation that never ran (a syntax or
validation error, a bad variable, a limit: errors without a path and no data) is recorded
as `rejected` with its error code, never as `allowed`. Without enforcement nothing is
recorded.

Fail closed: an answer the hub could not audit is not given. When the write fails (database
down, table missing, disk read-only), the result loses its data and carries one
AUDIT_UNAVAILABLE error with a generic message (the endpoint answers 503); the cause is
logged here without the audit row, the SQL or a traceback, which would quote the row (party,
user, purpose, member keys) into the server log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from strawberry.extensions import SchemaExtension

from hub.api.context import Context
from hub.api.extensions.errors import error_code
from hub.audit.access import AccessRecord

__all__ = ["AuditExtension", "AUDIT_UNAVAILABLE", "access_record", "audit_failure_cause",
           "rejected_reason"]

log = logging.getLogger("hub.audit")


#: GraphQL types whose (type, field) pairs never carry member data: left out of the audit
_PLUMBING = ("Query", "Mutation", "PageInfo")


def access_record(ctx: Context, document: str | None,
                  operation_name: str | None) -> AccessRecord:
    """What the audit log keeps of one request, read off its Context: keys, field names and
    contract digests only."""
    caller = ctx.caller
    requested = ctx.plan.requested if ctx.plan is not None else {}
    asked = frozenset(f"{t}.{f}" for t, fs in requested.items() for f in fs
                      if t not in _PLUMBING and not t.endswith(("Connection", "Edge")))
    access = ctx.access
    return AccessRecord(
        party=caller.party, user=caller.user, purpose=caller.purpose, document=document,
        operation_name=operation_name, fields_asked=asked,
        fields_denied=frozenset(access.fields_denied),
        members_touched=frozenset(access.members_touched), members_hidden=access.members_hidden,
        refused=access.is_refused, rejected=access.rejected,
        contract_digests=tuple(ctx.decisions.contract_digests()),
    )


def rejected_reason(result: Any) -> str | None:
    """The error code of an operation that did not run at all (None: it ran)."""
    errors = list(getattr(result, "errors", None) or [])
    if result is None or getattr(result, "data", None) is not None or not errors:
        return None
    if any(e.path is not None for e in errors):
        return None  # a resolver ran and failed: an access decision was made
    return error_code(errors[0]).lower()


AUDIT_UNAVAILABLE = "AUDIT_UNAVAILABLE"
_MESSAGE = ("the hub cannot write its audit log right now, so it gives no answer; "
            "try again later (the hub's operator is told why in its log)")


def audit_failure_cause(exc: BaseException) -> str:
    """What the log may say about a failed audit write: the exception's class and, for a
    database error, the driver's own message (e.g. "no such table: audit_entries", "attempt
    to write a readonly database"), never SQLAlchemy's text, which quotes the statement and
    its parameters (the audit row)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        driver = type(exc.orig)
        return f"{driver.__module__}.{driver.__qualname__}: {exc.orig}"[:500]
    return type(exc).__name__


class AuditExtension(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if isinstance(ec.context, Context):
            ec.context.access.operation = (ec.query, ec.operation_name)
        yield
        ctx = ec.context
        if not isinstance(ctx, Context) or ctx.runtime.enforcement is None or \
                not ctx.access.claim():
            return
        if not ctx.access.is_refused:
            ctx.access.reject(rejected_reason(ec.result))
        try:
            await ctx.runtime.enforcement.record(access_record(ctx, ec.query, ec.operation_name))
        except Exception as exc:
            result = ec.result
            if ctx.access.is_refused or ctx.access.rejected is not None:
                # the operation never ran: its refusal carries no data and stands as it is
                log.error("audit write failed for a refused operation (party %s): %s",
                          ctx.caller.party, audit_failure_cause(exc))
                return
            log.error("audit write failed, answer withheld (party %s): %s",
                      ctx.caller.party, audit_failure_cause(exc))
            # in place: strawberry returns this very object once the hooks unwind (None: the
            # operation failed before any result, so there is no answer to withhold)
            if result is not None:
                result.data = None
                result.errors = [GraphQLError(_MESSAGE,
                                              extensions={"code": AUDIT_UNAVAILABLE})]
