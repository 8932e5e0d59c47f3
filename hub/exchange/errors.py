"""What can go wrong when a party records an action, grouped by the caller's next move.

```
RequestError (hub.errors)
├── PayloadInvalid        BAD_USER_INPUT: fix the named field of the payload and resend
└── IdempotencyConflict   IDEMPOTENCY_CONFLICT: this key was used for another request; use a
                          new key for a new request, the same input to retry the old one
HubError
└── LedgerUnavailable     AUDIT_UNAVAILABLE (HTTP 503): the entry and its audit entry could
                          not be written, so nothing was; retry later (same idempotency key)
```
"""

from __future__ import annotations

from hub.errors import HubError, RequestError

__all__ = ["PayloadInvalid", "IdempotencyConflict", "LedgerUnavailable"]


class PayloadInvalid(RequestError):
    """An action's payload is malformed; nothing was written."""

    code = "BAD_USER_INPUT"

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


class IdempotencyConflict(RequestError):
    """The idempotency key was used before, by this party, for a different request."""

    code = "IDEMPOTENCY_CONFLICT"


class LedgerUnavailable(HubError):
    """The ledger or the audit log could not be written; nothing was recorded."""

    code = "AUDIT_UNAVAILABLE"
