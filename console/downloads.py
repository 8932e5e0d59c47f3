"""Documents the hub serves outside GraphQL (a letter's PDF), fetched as the signed-in official.

Like every GraphQL call (console.hub), each fetch carries a fresh single-use token with the
official as `sub` and an `X-Request-Id` naming the console page, so the hub's audit shows who
downloaded what; the browser never talks to the hub. A refusal (the hub answers such routes
with the GraphQL error shape) comes back as HubFailure holding the official's sentence.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass

import httpx

from console.hub import ConsoleHub, HubFailure
from console.messages import explain_error
from console.officials import Official

__all__ = ["Document", "fetch_document", "MAX_DOCUMENT_BYTES"]

#: a letter's PDF is well under 1 MB; anything larger is not what the console asked for
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    content: bytes
    content_type: str


async def fetch_document(hub: ConsoleHub, official: Official, page: str, path: str
                         ) -> Document:
    """GET `path` (absolute, on the hub) as `official` from console page `page`."""
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"not a path on the hub: {path!r}")
    credentials = dataclasses.replace(hub.credentials, user=official.user,
                                      purpose=hub.config.purpose_for(page))
    headers = {"Authorization": f"Bearer {credentials.token()}",
               "X-Request-Id": f"console-{page}-{secrets.token_hex(6)}"}
    try:
        response = await hub.http.get(hub.config.hub_url + path, headers=headers)
    except httpx.HTTPError as exc:
        raise HubFailure("UNREACHABLE", explain_error(
            {"extensions": {"code": "UNREACHABLE"}})) from exc
    if response.status_code != 200:
        try:
            first = (response.json().get("errors") or [{}])[0]
        except (ValueError, AttributeError, IndexError):
            first = {}
        if not isinstance(first, dict) or not (first.get("extensions") or {}).get("code"):
            first = {"extensions": {"code": f"HTTP_{response.status_code}"}}
        code = str(first["extensions"]["code"])
        raise HubFailure(code, explain_error(first))
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise HubFailure("LIMIT_EXCEEDED", explain_error(
            {"extensions": {"code": "LIMIT_EXCEEDED"}}))
    return Document(response.content,
                    response.headers.get("content-type", "application/octet-stream"))
