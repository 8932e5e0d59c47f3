"""The policy without contracts: everyone sees everything, except ID numbers and phones, which
leave masked (the canonical fields marked so, hub.model).

It is the baseline the contract policy (hub.contracts, under signed contracts) replaces: the
same seam, the same calls, only a different answer. Keeping it a real `Policy` means the query
path never has an "unpoliced" branch to forget about.
"""

from __future__ import annotations

from collections.abc import Set

from hub.model import MASKED_BY_DEFAULT
from hub.policy.base import BasePolicy, Caller, Policy, RowScope, Subject, Transform

__all__ = ["MaskingPolicy", "MASKED_FIELDS"]

#: (GraphQL type, field) pairs whose values always leave masked: the canonical fields marked
#: "masked" or "identifying" (connectors.canonical, derived by hub.model)
MASKED_FIELDS: frozenset[tuple[str, str]] = MASKED_BY_DEFAULT


class MaskingPolicy(BasePolicy):
    """Allow every field and every member; mask ID numbers and phone numbers. Everything else
    is `BasePolicy`'s open answer."""

    def __init__(self, masked: Set[tuple[str, str]] = MASKED_FIELDS) -> None:
        self.masked = frozenset(masked)

    def transform(
        self, caller: Caller, subject: Subject | None, type_name: str, field: str, owner: str | None
    ) -> Transform:
        return Transform.MASKED if (type_name, field) in self.masked else Transform.FULL

    def scope_filter(self, caller: Caller) -> RowScope:
        """No row scope without contracts: every member is visible (see hub.api.scope)."""
        return None


_check: Policy = MaskingPolicy()  # the protocol is structural; fail at import if it drifts
