"""A party's client for the hub (Python): sync and async, a fresh signed token per request,
retries with backoff and jitter on 429/503 honouring Retry-After, typed errors carrying
`extensions.code`. Runs in the party's backend, which holds the party's key (docs/frontend.md).

    from hub.client import HubClient, PartyCredentials

    creds = PartyCredentials.from_key_file("keys/wenjiang-1.key.pem", party="wenjiang",
                                           kid="wenjiang-1", audience="yanxing-hub",
                                           user="official-7", purpose="co-management")
    with HubClient("https://hub.example.gov.cn", creds) as hub:
        result = hub.execute("{ members(first: 5) { nodes { key name } } }")

It imports hub core (the token format) and httpx only: no server code (tests/test_layers.py).
"""

from hub.client.errors import (
    AuditUnavailable,
    BadRequest,
    ContractDenied,
    HubClientError,
    HubUnreachable,
    LimitExceeded,
    Overloaded,
    RateLimited,
    RequestTimeout,
    SourceUnavailable,
    Unauthenticated,
)
from hub.client.party import AsyncHubClient, HubClient, PartyCredentials, Result, RetryPolicy

__all__ = ["AsyncHubClient", "HubClient", "PartyCredentials", "Result", "RetryPolicy",
           "HubClientError", "Unauthenticated", "RateLimited", "Overloaded", "ContractDenied",
           "LimitExceeded", "BadRequest", "AuditUnavailable", "RequestTimeout",
           "SourceUnavailable", "HubUnreachable"]
