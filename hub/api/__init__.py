"""The GraphQL API: schema, per-request context, HTTP endpoint (see docs/architecture.md)."""

from hub.api.context import Context
from hub.api.enforcement import Enforcement
from hub.api.http import Authenticate, GraphQLEndpoint, anonymous
from hub.api.limits import Limits
from hub.api.runtime import Runtime
from hub.api.schema import PLUGINS, build_schema, print_sdl, published_schema

__all__ = [
    "Authenticate",
    "Context",
    "Enforcement",
    "GraphQLEndpoint",
    "Limits",
    "PLUGINS",
    "Runtime",
    "anonymous",
    "build_schema",
    "print_sdl",
    "published_schema",
]
