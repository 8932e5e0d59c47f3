"""Safety limits of the GraphQL API, each with a safe default.

Read once from `[limits]` in yanxing.toml (any missing key keeps its default); enforced by
hub.api.extensions.limits (depth, cost, page size, members per request) and hub.api.http
(request body size).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 10
    max_page_size: int = 100
    default_page_size: int = 20
    #: one point per field, multiplied by the page size of every list around it
    max_cost: int = 20_000
    max_body_bytes: int = 100_000
    max_members_per_request: int = 500
    source_timeout_seconds: float = 5.0

    @classmethod
    def from_object(cls, obj: Any) -> "Limits":
        """Build from any object or mapping with some of these names (e.g. settings.limits)."""
        if obj is None:
            return cls()
        get = obj.get if isinstance(obj, dict) else lambda k, d: getattr(obj, k, d)
        return cls(**{f.name: get(f.name, f.default) for f in fields(cls)})
