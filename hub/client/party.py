"""The party client: `HubClient` (sync) and `AsyncHubClient` over one request logic.

A party's backend (never a browser: the key stays on the party's server) calls the hub with
a fresh single-use token per request, signed with the party's own key (hub.party_token). The
hub refuses a token seen before, so a retry signs a new one too. Retries:

- 429 RATE_LIMITED and 503 OVERLOADED: the hub refused before running anything, so any
  operation, mutations included, may be sent again;
- 503 AUDIT_UNAVAILABLE, 504 REQUEST_TIMEOUT and connection failures: only queries (a
  mutation may already have taken effect: a check-in is not repeated blindly);
- everything else is the caller's to fix and is raised at once.

The wait before attempt n is the larger of the server's `Retry-After` and an exponential
backoff (`base * 2**n`, capped) with full jitter, so clients that were refused together do
not all come back in the same instant. After the last attempt the typed error is raised
(hub.client.errors). An answer with data and errors (a source down: partial results) is not
an error: `Result.errors` holds them and `Result.partial` says so.

This module imports only hub core (the token format) and httpx: no server code.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.client.errors import HubClientError, HubUnreachable, error_for
from hub.party_token import load_private_key, mint_token

__all__ = ["PartyCredentials", "RetryPolicy", "Result", "HubClient", "AsyncHubClient"]

#: refusals that happen before the operation runs: safe to send again whatever it is
_NOT_RUN = frozenset({"RATE_LIMITED", "OVERLOADED"})
#: failures after which only a query (idempotent) is sent again
_MAYBE_RUN = frozenset({"AUDIT_UNAVAILABLE", "REQUEST_TIMEOUT"})


@dataclass(frozen=True)
class PartyCredentials:
    """Who signs: the party id, its key id in the trust registry and its private key; the
    hub's audience; the official (`user`, an id, never a name) and the purpose declared by
    a contract of the party."""

    party: str
    kid: str
    key: Ed25519PrivateKey = field(repr=False)
    audience: str
    user: str
    purpose: str
    #: seconds a token lives; it is used at once, so short is right
    ttl: int = 60

    @classmethod
    def from_key_file(cls, path: Path | str, *, party: str, kid: str, audience: str,
                      user: str, purpose: str, ttl: int = 60) -> PartyCredentials:
        return cls(party, kid, load_private_key(Path(path)), audience, user, purpose, ttl)

    def token(self) -> str:
        """A fresh single-use token."""
        return mint_token(self.party, self.user, self.purpose, self.key, self.kid,
                          self.audience, self.ttl)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_seconds: float = 0.2
    max_seconds: float = 10.0
    #: random.uniform by default; tests pass a fixed one
    jitter: Callable[[float, float], float] = random.uniform

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before attempt `attempt + 1` (0-based `attempt` just failed)."""
        backoff = min(self.max_seconds, self.base_seconds * 2 ** attempt)
        jittered = self.jitter(0.0, backoff)
        return min(self.max_seconds, max(retry_after or 0.0, jittered))


@dataclass(frozen=True)
class Result:
    """A GraphQL answer that carried data: `errors` (with their extensions.code) when it is
    partial, e.g. a source was down (SOURCE_UNAVAILABLE at its path)."""

    data: dict[str, Any]
    errors: tuple[dict[str, Any], ...] = ()
    request_id: str | None = None

    @property
    def partial(self) -> bool:
        return bool(self.errors)

    @property
    def codes(self) -> set[str]:
        return {str((e.get("extensions") or {}).get("code")) for e in self.errors}


def _is_query(query: str, operation_name: str | None) -> bool:
    """Whether the operation to run is a query (so repeating it cannot do anything twice).
    A document that cannot be parsed counts as not a query: it will fail anyway."""
    from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

    try:
        document = parse(query)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations
              if operation_name is None or (o.name and o.name.value == operation_name)]
    return len(chosen) >= 1 and all(o.operation is OperationType.QUERY for o in chosen[:1])


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _interpret(response: httpx.Response) -> Result | HubClientError:
    """The Result of an answer with data, or the typed error of one without."""
    try:
        body = response.json()
    except ValueError:
        return HubUnreachable("HTTP_" + str(response.status_code), "the hub's answer is not "
                              "JSON", status=response.status_code)
    if not isinstance(body, dict):
        return HubUnreachable("HTTP_" + str(response.status_code), "unexpected answer",
                              status=response.status_code, body=body)
    errors = tuple(e for e in body.get("errors") or () if isinstance(e, dict))
    request_id = response.headers.get("x-request-id")
    data = body.get("data")
    if isinstance(data, dict) and response.status_code < 400:
        return Result(data, errors, request_id)
    first = errors[0] if errors else {}
    extensions = first.get("extensions") or {}
    return error_for(str(extensions.get("code") or f"HTTP_{response.status_code}"),
                     str(first.get("message") or ""), status=response.status_code,
                     reason=extensions.get("reason"), retry_after=_retry_after(response),
                     body=body)


@dataclass
class _Call:
    """One logical request and its attempts."""

    query: str
    variables: Mapping[str, Any] | None
    operation_name: str | None
    retry: RetryPolicy
    is_query: bool = False

    def __post_init__(self) -> None:
        self.is_query = _is_query(self.query, self.operation_name)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"query": self.query}
        if self.variables is not None:
            body["variables"] = dict(self.variables)
        if self.operation_name is not None:
            body["operationName"] = self.operation_name
        return body

    def retryable(self, error: HubClientError) -> bool:
        if error.code in _NOT_RUN:
            return True
        return self.is_query and (error.code in _MAYBE_RUN or isinstance(error, HubUnreachable))


def _headers(credentials: PartyCredentials, request_id: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {credentials.token()}",
               "Accept": "application/json"}
    if request_id:
        headers["X-Request-Id"] = request_id
    return headers


class HubClient:
    """Synchronous client: `execute(query, variables)` -> Result, or a typed error."""

    def __init__(self, url: str, credentials: PartyCredentials, *,
                 retry: RetryPolicy | None = None, timeout: float = 35.0,
                 http: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url.rstrip("/") + "/graphql" if not url.endswith("/graphql") else url
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.http = http or httpx.Client(timeout=timeout)
        self.sleep = sleep

    def execute(self, query: str, variables: Mapping[str, Any] | None = None, *,
                operation_name: str | None = None, request_id: str | None = None) -> Result:
        call = _Call(query, variables, operation_name, self.retry)
        for attempt in range(self.retry.attempts):
            try:
                response = self.http.post(self.url, json=call.payload(),
                                          headers=_headers(self.credentials, request_id))
                outcome = _interpret(response)
            except httpx.HTTPError as exc:
                outcome = HubUnreachable("UNREACHABLE", f"{type(exc).__name__}: {exc}")
            if isinstance(outcome, Result):
                return outcome
            if attempt + 1 >= self.retry.attempts or not call.retryable(outcome):
                raise outcome
            self.sleep(self.retry.wait(attempt, outcome.retry_after))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncHubClient:
    """Asynchronous client: `await execute(query, variables)` -> Result, or a typed error."""

    def __init__(self, url: str, credentials: PartyCredentials, *,
                 retry: RetryPolicy | None = None, timeout: float = 35.0,
                 http: httpx.AsyncClient | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.url = url.rstrip("/") + "/graphql" if not url.endswith("/graphql") else url
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.http = http or httpx.AsyncClient(timeout=timeout)
        self.sleep = sleep

    async def execute(self, query: str, variables: Mapping[str, Any] | None = None, *,
                      operation_name: str | None = None,
                      request_id: str | None = None) -> Result:
        call = _Call(query, variables, operation_name, self.retry)
        for attempt in range(self.retry.attempts):
            try:
                response = await self.http.post(
                    self.url, json=call.payload(), headers=_headers(self.credentials, request_id))
                outcome = _interpret(response)
            except httpx.HTTPError as exc:
                outcome = HubUnreachable("UNREACHABLE", f"{type(exc).__name__}: {exc}")
            if isinstance(outcome, Result):
                return outcome
            if attempt + 1 >= self.retry.attempts or not call.retryable(outcome):
                raise outcome
            await self.sleep(self.retry.wait(attempt, outcome.retry_after))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncHubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
