"""The marker for objects whose field values leave through the policy (hub.api.extensions.policy).

A policed object knows the member it is about (`Subject`, None for organisations) and which
party owns the source that supplied each of its fields, which is all `Policy.transform` needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hub.policy.base import Subject

if TYPE_CHECKING:
    from hub.api.context import Context

__all__ = ["PolicedObject"]


class PolicedObject:
    """Mixin for strawberry types whose values are personal or organisational data."""

    def policy_subject(self) -> Subject | None:
        return None

    def policy_owner(self, ctx: Context, field: str) -> str | None:
        """The party owning the source that supplied `field` (None when unknown)."""
        return None

    @classmethod
    def direct_resolver(cls, type_name: str, field: str, resolver: Callable[..., Any],
                        general: Callable[..., Any]) -> Callable[..., Any] | None:
        """A graphql-core resolver for `type_name.field` (whose strawberry resolver is
        `resolver`) that applies the policy exactly as `policed_value` does, faster than
        `general` (the direct resolver hub.api.extensions.policed_fields built), which it may
        call for the cases it does not handle; None: use `general`."""
        return None
