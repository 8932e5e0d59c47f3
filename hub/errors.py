"""Errors the hub raises, grouped by what the caller should do next.

```
HubError (.code → GraphQL extensions.code)
├── ConfigError          at startup: settings, mapping or contract file invalid (all problems)
├── ContractError        a signature, party, registry or contract is invalid
│   └── AccessDenied     CONTRACT_DENIED: no active contract grants this to the caller
├── AuthenticationError  UNAUTHENTICATED: the request token is missing or bad (HTTP 401)
├── RequestError         BAD_REQUEST: the query itself is wrong
│   └── LimitExceeded    LIMIT_EXCEEDED: depth, cost, size or page limit
├── NotFound             NOT_FOUND: no such object, or not visible to the caller
└── DatabaseError        DATABASE_UNAVAILABLE: the database URL is bad or unreachable
    └── SchemaOutOfDate  SCHEMA_OUT_OF_DATE: the database is not at the code's migration head
```
Source failures are `connectors.errors.SourceError` subclasses; they reach clients with their
own codes (SOURCE_UNAVAILABLE, SOURCE_TIMEOUT, SOURCE_INVALID, ...) and the source's name.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "HubError",
    "ConfigError",
    "ContractError",
    "AccessDenied",
    "AuthenticationError",
    "RequestError",
    "LimitExceeded",
    "NotFound",
    "DatabaseError",
    "SchemaOutOfDate",
]


class HubError(Exception):
    """Base of hub errors; `code` becomes `extensions.code`."""

    code = "HUB_ERROR"


class ConfigError(HubError):
    """Configuration is invalid. Carries every problem found, so one run shows them all."""

    code = "CONFIG_INVALID"

    def __init__(self, problems: Iterable[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ContractError(HubError):
    """A contract, signature, key or registry is invalid; fix the document, then resubmit."""

    code = "CONTRACT_INVALID"


class AccessDenied(ContractError):
    """No active contract grants the caller this field, member or action."""

    code = "CONTRACT_DENIED"

    def __init__(self, message: str, *, fields: Iterable[str] = (),
                 contracts: Iterable[str] = ()) -> None:
        self.fields = sorted(set(fields))
        #: titles of the caller's own agreements behind the refusal, where one is
        self.contracts = list(dict.fromkeys(contracts))
        super().__init__(message)


class AuthenticationError(HubError):
    """The request's party token is missing, malformed, expired, replayed or not trusted."""

    code = "UNAUTHENTICATED"


class RequestError(HubError):
    """The query or its arguments are wrong; fix the request."""

    code = "BAD_REQUEST"


class LimitExceeded(RequestError):
    """A safety limit (depth, cost, page size, members per request) was exceeded."""

    code = "LIMIT_EXCEEDED"


class NotFound(HubError):
    """No such object, or it is outside every scope the caller may see (no existence leak)."""

    code = "NOT_FOUND"


class DatabaseError(HubError):
    """The database URL is malformed or the database cannot be reached; fix the URL or start it."""

    code = "DATABASE_UNAVAILABLE"


class SchemaOutOfDate(DatabaseError):
    """The database's schema is not the one this code was written for: migrate it first."""

    code = "SCHEMA_OUT_OF_DATE"
