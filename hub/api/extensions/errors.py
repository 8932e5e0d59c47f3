"""Every error leaves with `extensions.code`; nothing internal leaves at all.

- `HubError` and `ConnectorError` keep their message and get their `code` (plus `source` for
  source errors and `fields` for CONTRACT_DENIED); a source error's message is rebuilt from
  the source's name and its code only (`source_message`): a connector's own text may name
  records (the ids of a batch read), which a caller denied `SourceRecord.localId` must not see;
- GraphQL syntax and validation errors get GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED,
  variables that do not coerce (or a missing required one) BAD_USER_INPUT with graphql-core's
  message, which names the variable;
- in production mode "Did you mean ...?" hints are dropped (hub.api.extensions.exposure);
- anything else is logged with its traceback and replaced by "Internal server error"
  (INTERNAL_ERROR), like strawberry's MaskErrors. Only these are logged: an ordinary refusal
  (CONTRACT_DENIED, BAD_USER_INPUT, LIMIT_EXCEEDED...) is an answer, not a fault of the hub,
  so it leaves no traceback in the server log (`QuietSchema` turns strawberry's own logging
  of every error off).
Source failures collected during execution (one per source, however many members it touched)
are appended here too, so the answer says which system is missing from it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError, OperationDefinitionNode, VariableDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from connectors.errors import ConnectorError, SourceError
from hub.api.context import Context
from hub.api.extensions.exposure import strip_suggestions
from hub.errors import AccessDenied, HubError, LimitExceeded

__all__ = ["ErrorsExtension", "QuietSchema", "error_code", "format_error", "is_variable_error",
           "source_message"]

log = logging.getLogger("hub.api")


#: graphql-core's messages for variable values that cannot be coerced (3.2 and 3.3 spellings),
#: including those that point at no variable definition
_VARIABLE_VALUE_MESSAGE = re.compile(
    r"^(Variable '\$\w+' (has invalid (default )?value|got invalid value"
    r"|of required type .* was not provided|of non-null type .* must not be null)"
    r"|Variable values are nested too deeply|Too many errors processing variables)")


def is_variable_error(error: GraphQLError) -> bool:
    """graphql-core could not coerce the request's variable values (a bad Int or DateTime, a
    missing required variable): the client's input is wrong, and graphql-core's message names
    the variable and says what was expected. These errors carry the scalar's exception as
    `original_error`, so without this test they looked like crashes (INTERNAL_ERROR). A
    validation error about a variable's declaration ("Variable '$a' is never used") has no
    `original_error` and stays GRAPHQL_VALIDATION_FAILED."""
    if error.path is not None:
        return False
    if error.original_error is not None and any(
            isinstance(node, VariableDefinitionNode) for node in error.nodes or ()):
        return True
    return bool(_VARIABLE_VALUE_MESSAGE.match(error.message))


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, (HubError, ConnectorError)):
        return original.code
    existing = (error.extensions or {}).get("code")
    if isinstance(existing, str):
        return existing
    if is_variable_error(error):
        return "BAD_USER_INPUT"
    if original is None:
        if error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED"
        return "GRAPHQL_VALIDATION_FAILED" if error.nodes else "BAD_REQUEST"
    return "INTERNAL_ERROR"


#: what a source error code tells a client, in words (the connector's own message stays in
#: the hub log: it may name records, e.g. the ids of a batch read)
_SOURCE_PROBLEM = {
    "SOURCE_UNAVAILABLE": "is unavailable; retry later",
    "SOURCE_TIMEOUT": "did not answer in time; retry later",
    "SOURCE_REJECTED": "refused the hub's request; its operator must check the hub's "
                       "credentials",
    "SOURCE_INVALID": "answered with data the hub cannot use; its operator has been told in "
                      "the hub log",
    "NOT_SUPPORTED": "cannot answer this kind of request",
}


def source_message(error: SourceError) -> str:
    """The client-facing message of a source failure: the source's name and what its code
    means, never the connector's detail (record ids, URLs with parameters, driver text)."""
    problem = _SOURCE_PROBLEM.get(error.code, "failed")
    detail = getattr(error, "public_detail", None)
    return f"source {error.source} {problem} ({error.code})" + (f": {detail}" if detail else "")


def format_error(error: GraphQLError, *, suggestions: bool = True) -> GraphQLError:
    """The client-facing copy of `error`; `suggestions` False (production) drops graphql-core's
    "Did you mean ...?" hints."""
    original = error.original_error
    code = error_code(error)
    extensions: dict[str, Any] = {**(error.extensions or {}), "code": code}
    message = error.message if suggestions else strip_suggestions(error.message)
    if isinstance(original, SourceError):
        extensions["source"] = original.source
        if not message.startswith(source_message(original)):
            message = source_message(original)
    if isinstance(original, AccessDenied):
        extensions["fields"] = original.fields
        if original.contracts:
            extensions["contracts"] = original.contracts
    if code == "INTERNAL_ERROR":
        log.error("internal error at %s", error.path, exc_info=original)
        message = "Internal server error"
        extensions = {"code": code}
    return GraphQLError(
        message, nodes=error.nodes, source=error.source, positions=error.positions,
        path=error.path, original_error=None, extensions=extensions,
    )


def _log_text(error: SourceError) -> str:
    """The connector's message for the hub log, with anything after `=` (a parameter value,
    such as a batch of record ids) cut out."""
    return re.sub(r"=\S+", "=…", str(error))


class ErrorsExtension(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        """GraphQL spec, GetOperation: without `operationName` a document must hold exactly one
        operation. Strawberry runs the first of several instead, so a client that forgot the
        name silently got another operation's answer; now it is told (BAD_REQUEST). Set before
        validation runs (after the validation cache's hook), so the operation stops here."""
        ec = self.execution_context
        document = ec.graphql_document
        if ec._provided_operation_name is None and document is not None and sum(
                isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1:
            ec.pre_execution_errors = [*(ec.pre_execution_errors or ()), GraphQLError(
                "the document has several operations: name the one to run with "
                "`operationName`", extensions={"code": "BAD_REQUEST"})]
        yield

    def on_execute(self) -> Iterator[None]:
        yield
        ctx = self.execution_context.context
        result = self.execution_context.result
        if not isinstance(ctx, Context) or result is None or not (
                ctx.source_errors or ctx.truncated):
            return
        errors = list(getattr(result, "errors", None) or [])
        for error, path in ctx.source_errors.values():
            log.warning("source %s failed during a request: %s (%s)", error.source,
                        error.code, _log_text(error))
            errors.append(GraphQLError(
                f"{source_message(error)}; its fields are missing from this answer",
                path=path, original_error=error,
            ))
        for message, list_path in ctx.truncated:
            errors.append(GraphQLError(message, path=list_path,
                                       original_error=LimitExceeded(message)))
        result.errors = errors

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and (errors := getattr(result, "errors", None)):
            ctx = self.execution_context.context
            suggestions = isinstance(ctx, Context) and ctx.mode.suggestions
            result.errors = [format_error(e, suggestions=suggestions) for e in errors]


class QuietSchema(strawberry.Schema):
    """A schema that leaves logging to `format_error`. Strawberry's default `process_errors`
    logs every error with its traceback, so each contract denial, bad variable or limit
    refusal wrote a traceback (the audit of one request ran to kilobytes of log, and a flood of
    denials could fill the disk); `format_error` logs exactly the unexpected ones."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        return None
