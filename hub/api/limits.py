"""Safety limits of the GraphQL API, each with a safe default.

One definition serves configuration and enforcement: `hub.settings.Limits` is read (and range
checked) from `[limits]` in yanxing.toml, and enforced by hub.api.extensions.limits (depth, cost,
page size, members per request) and hub.api.http (request body size).
"""

from __future__ import annotations

from hub.settings import Limits

__all__ = ["Limits"]
