"""Safety limits of the GraphQL API, each with a safe default.

One definition serves configuration and enforcement: `hub.settings.Limits` is read (and range
checked) from `[limits]` in yanxing.toml, and enforced by hub.api.extensions.document_limits
(expanded fields, aliases, directives: before validation), hub.api.extensions.limits (depth,
cost, page size), the loaders and list resolvers (members per request, max_list_size),
hub.api.http (body and query-string size, the per-request deadline), the source registry
(health cache) and `yanxing serve` (graceful-shutdown timeout).
"""

from __future__ import annotations

from hub.settings import Limits

__all__ = ["Limits"]
