"""Typed errors of the party client: one class per `extensions.code` a caller acts on.

The hub answers every failure with a GraphQL error body whose first error carries
`extensions.code` (docs/frontend.md lists them and what to do). The client raises the class for
that code, so a party's backend can `except RateLimited` instead of parsing messages; every
error keeps the code, the HTTP status, the message, `extensions.reason` (for 401s) and the
server's `Retry-After`, and the whole body for logging.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HubClientError", "Unauthenticated", "RateLimited", "Overloaded", "ContractDenied",
           "LimitExceeded", "BadRequest", "AuditUnavailable", "RequestTimeout",
           "SourceUnavailable", "HubUnreachable", "error_for"]


class HubClientError(Exception):
    """The hub refused or failed the request (`code` is its extensions.code)."""

    def __init__(self, code: str, message: str, *, status: int | None = None,
                 reason: str | None = None, retry_after: float | None = None,
                 body: Any = None) -> None:
        self.code = code
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        self.body = body
        super().__init__(f"{code}: {message}" if message else code)


class Unauthenticated(HubClientError):
    """401: the token was refused (`reason`: expired, replayed, purpose_not_allowed, ...)."""


class RateLimited(HubClientError):
    """429: the party or this address is over its rate limit; wait `retry_after`."""


class Overloaded(HubClientError):
    """503: the hub shed the request before running it; wait `retry_after`."""


class AuditUnavailable(HubClientError):
    """503: the answer was withheld because the hub could not audit it."""


class RequestTimeout(HubClientError):
    """504: the request ran past the hub's deadline; ask for less."""


class ContractDenied(HubClientError):
    """No active contract grants what was asked (a field, a filter, a record permission)."""


class LimitExceeded(HubClientError):
    """The request is too large or too costly (depth, cost, page size, body, list size)."""


class BadRequest(HubClientError):
    """The request itself is wrong (parse, validation, variables, a missing operation)."""


class SourceUnavailable(HubClientError):
    """Every source needed was down, slow or answered garbage (no data at all came back)."""


class HubUnreachable(HubClientError):
    """The hub could not be reached or did not answer with a GraphQL body."""


_BY_CODE: dict[str, type[HubClientError]] = {
    "UNAUTHENTICATED": Unauthenticated,
    "RATE_LIMITED": RateLimited,
    "OVERLOADED": Overloaded,
    "AUDIT_UNAVAILABLE": AuditUnavailable,
    "REQUEST_TIMEOUT": RequestTimeout,
    "CONTRACT_DENIED": ContractDenied,
    "LIMIT_EXCEEDED": LimitExceeded,
    "BAD_REQUEST": BadRequest,
    "BAD_USER_INPUT": BadRequest,
    "GRAPHQL_PARSE_FAILED": BadRequest,
    "GRAPHQL_VALIDATION_FAILED": BadRequest,
    "CSRF_PREFLIGHT_REQUIRED": BadRequest,
    "INTROSPECTION_DISABLED": BadRequest,
    "SOURCE_UNAVAILABLE": SourceUnavailable,
    "SOURCE_TIMEOUT": SourceUnavailable,
    "SOURCE_INVALID": SourceUnavailable,
}


def error_for(code: str, message: str, **details: Any) -> HubClientError:
    """The typed error for `code` (HubClientError itself for a code this client predates)."""
    return _BY_CODE.get(code, HubClientError)(code, message, **details)
