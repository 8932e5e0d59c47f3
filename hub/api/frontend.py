"""What a browser front end needs from the hub besides /graphql: CORS and the SDL.

CORS (`[hub] cors_origins`): browsers let a page of another origin read the hub's answers only
when the hub says so. The allow-list is empty by default (no page of another origin may);
each front end's origin is named, never `*`. Preflights (`OPTIONS` with
`Access-Control-Request-Method`) are answered for GET and POST with the headers a GraphQL
client sends (Authorization, Content-Type, the CSRF headers of hub.api.csrf, X-Request-Id),
and `Retry-After` and `X-Request-Id` are exposed, so a page can honour a 429/503 and quote the
request id. No credentials (cookies): the hub authenticates by bearer token only. The
middleware wraps the whole app, so refusals (401, 429, 503) carry the CORS headers too and a
page can read them.

`GET /schema.graphql` serves the published SDL (`schema/yanxing.graphql`): for code
generators and editors. In development mode to anyone; in production only with a valid party
token (the schema is no secret, but production tells nothing about itself to strangers; a
refused token is audited like any other).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response

from hub.api.http import error_response
from hub.errors import AuthenticationError, HubError
from hub.settings import Mode

log = logging.getLogger("hub.api")

__all__ = ["cors_middleware", "sdl_route", "CORS_ALLOW_HEADERS", "CORS_EXPOSE_HEADERS"]

CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "Accept", "X-Request-Id",
                      "X-Yanxing-CSRF", "Apollo-Require-Preflight", "X-Apollo-Operation-Name")
CORS_EXPOSE_HEADERS = ("Retry-After", "X-Request-Id")


def cors_middleware(origins: Sequence[str]) -> list[Middleware]:
    """The CORS middleware for `origins`; none at all when the list is empty."""
    if not origins:
        return []
    return [Middleware(CORSMiddleware, allow_origins=list(origins),
                       allow_methods=["GET", "POST"], allow_headers=list(CORS_ALLOW_HEADERS),
                       expose_headers=list(CORS_EXPOSE_HEADERS), allow_credentials=False,
                       max_age=600)]


def _published_sdl() -> str:
    return (resources.files("hub") / "schemas" / "yanxing.graphql").read_text(encoding="utf-8")


def sdl_route(mode: Mode, runtime: Callable[[Request], object]
              ) -> Callable[[Request], Awaitable[Response]]:
    async def schema_graphql(request: Request) -> Response:
        if not mode.is_development:
            enforcement = getattr(runtime(request), "enforcement", None)
            if enforcement is not None:
                try:
                    await enforcement.authenticate(request)
                except (AuthenticationError, HubError) as exc:
                    reason = getattr(exc, "reason", None)
                    try:
                        await enforcement.record_rejection(request, "unauthenticated:sdl")
                    except Exception:  # a refusal stands even when its audit entry fails
                        log.error("audit write failed for a refused /schema.graphql")
                    return error_response(401, "UNAUTHENTICATED", str(exc), reason=reason,
                                          **{"WWW-Authenticate": "Bearer"})
        return Response(_published_sdl(), media_type="application/graphql; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    return schema_graphql
