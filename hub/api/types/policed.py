"""The marker for objects whose field values leave through the policy (hub.api.extensions.policy).

A policed object knows the member it is about (`Subject`, None for organisations) and which
party owns the source that supplied each of its fields, which is all `Policy.transform` needs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from hub.policy.base import Subject

if TYPE_CHECKING:
    from hub.api.context import Context

__all__ = ["PolicedObject", "LATER"]


class _Later(enum.Enum):
    LATER = "later"


#: what a `direct_resolver` answers when it cannot answer at once (its `general` must)
LATER: Final = _Later.LATER


class PolicedObject:
    """Mixin for strawberry types whose values are personal or organisational data."""

    def policy_subject(self) -> Subject | None:
        return None

    def policy_owner(self, ctx: Context, field: str) -> str | None:
        """The party owning the source that supplied `field` (None when unknown)."""
        return None

    @classmethod
    def direct_resolver(cls, type_name: str, field: str,
                        resolver: Callable[..., Any]) -> Callable[[Any, Context], Any] | None:
        """A shorter way to `type_name.field` (whose strawberry resolver is `resolver`) than
        the direct resolver hub.api.extensions.policed_fields builds: called with the source
        and the request's context (no resolve info: a completion plan has none to give), it
        answers the value as `policed_value` would let it leave, or `LATER` for a case it does
        not handle, without having done anything (the general resolver then answers); None:
        no shorter way."""
        return None
