"""Cross-site request forgery: a GET a browser could send from any page must not run a query.

A page on another site can make a browser send `GET /graphql?query=...` (an <img>, a link, a
form) or a POST with one of the three "simple" content types, and no CORS preflight asks the
hub first. A request is safe to run only if it carries something such a page cannot add
without a preflight: a content type other than the simple ones, or one of the headers below
(the rule of Apollo Server's CSRF prevention, plus our own header). POST bodies are accepted as
JSON only (hub.api.http), which is never simple, so this check is needed for GET.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["PREFLIGHT_HEADERS", "SIMPLE_CONTENT_TYPES", "is_preflighted", "CSRF_MESSAGE"]

#: content types a cross-site <form> or fetch(mode: "no-cors") can send without a preflight
SIMPLE_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})

#: any non-empty value of one of these proves the request was preflighted (or not a browser's)
PREFLIGHT_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight", "x-yanxing-csrf")

CSRF_MESSAGE = (
    "this GET request could have been sent by another site (possible cross-site request "
    "forgery), so it was not run: send the query as a POST with Content-Type: "
    "application/json, or add a non-empty header X-Yanxing-CSRF (or Apollo-Require-Preflight, "
    "X-Apollo-Operation-Name)")


def media_type(content_type: str | None) -> str:
    """`text/plain; charset=utf-8` -> `text/plain` (lower case, parameters dropped)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_preflighted(headers: Mapping[str, str]) -> bool:
    """True when a browser would have asked the hub (CORS preflight) before sending this."""
    media = media_type(headers.get("content-type"))
    if media and media not in SIMPLE_CONTENT_TYPES:
        return True  # a non-simple (or unparseable) content type always needs a preflight
    return any((headers.get(name) or "").strip() for name in PREFLIGHT_HEADERS)
