"""The API's enforcement seam: who is calling, under which policy, and what gets recorded.

`Runtime.enforcement` holds one of these when the hub runs under signed contracts
(hub.contracts.trust.Trust implements it); None means no contracts (anonymous callers,
`Runtime.policy` for everyone). The API calls it three times per request:
1. `authenticate(request)` before anything runs: a `Caller`, or `AuthenticationError` (401);
2. `policy_for(caller)`: the request's policy, current at this request (a cached policy must be
   revalidated exactly), so a revocation is honoured by the very next request;
3. `record(access_record)` after execution: one audit entry per operation, whatever the
   outcome, from the plain `hub.audit.AccessRecord` the audit extension builds from the
   request's Context (hub.api.extensions.audit.access_record);
   or, for a request refused before it could run (failed authentication, a malformed body),
   `record_rejection(request, reason)` instead: one entry, rate-limited per client network.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from starlette.requests import Request

from hub.audit.access import AccessRecord
from hub.policy.base import Caller, Policy

__all__ = ["Enforcement"]


@runtime_checkable
class Enforcement(Protocol):
    async def authenticate(self, request: Request) -> Caller:
        """The verified caller; raise `hub.errors.AuthenticationError` to answer 401."""
        ...

    async def policy_for(self, caller: Caller) -> Policy:
        """The policy for one request by `caller` (cached only with exact revalidation)."""
        ...

    async def revalidate(self, request: Request) -> Caller:
        """A long-lived connection's caller checked again (key not revoked since, token not
        expired, purpose still declared) without spending its token again; raise
        `hub.errors.AuthenticationError` when it no longer holds."""
        ...

    async def record(self, record: AccessRecord) -> None:
        """Append the request's decision to the audit log."""
        ...

    async def record_rejection(self, request: Request, reason: str) -> None:
        """Audit a request refused before authentication or execution (`reason`: a slug such
        as `unauthenticated:expired`); never the token or the body."""
        ...
