"""Live ledger events from the hub: the console subscribes over WebSocket for one browser.

A browser never holds a party token, so it cannot subscribe to the hub itself. The page opens
an EventSource on the console instead (server-sent events, `console.sse`), and the console
opens the hub's `exchangeEvents` subscription for it over graphql-transport-ws (hub/api/ws.py)
with aiohttp's WebSocket client: the fresh token of the signed-in official goes in
`connection_init` (so the hub's audit names the official for every event it sends), then one
`subscribe`. Each `next` is yielded as the `ExchangeEntry` the hub sent; an `error` or a
refused connection becomes `HubFailure` with the sentence an official reads.

`with_heartbeat` interleaves `None` ticks into a quiet stream, so the SSE side can send a
comment now and then (proxies keep the stream open; a closed browser is noticed).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import aiohttp

from console.hub import ConsoleHub, HubFailure
from console.messages import explain, explain_error
from console.officials import Official

__all__ = ["PROTOCOL", "ledger_events", "with_heartbeat", "ACK_SECONDS", "TOKEN_SECONDS"]

PROTOCOL = "graphql-transport-ws"
#: how long the hub has to acknowledge connection_init
ACK_SECONDS = 10.0
#: lifetime of a subscription's token (the hub ends the subscription when it expires; the
#: hub accepts at most 10 minutes): longer than a console stream lives
TOKEN_SECONDS = 360
#: close codes of the protocol the hub uses for a refused token (4403) or a slow init (4408)
_REFUSED = {4401, 4403}

T = TypeVar("T")


def _ws_url(hub_url: str) -> str:
    """http(s)://host/prefix -> ws(s)://host/prefix/graphql."""
    if hub_url.startswith("https://"):
        return "wss://" + hub_url[len("https://"):] + "/graphql"
    if hub_url.startswith("http://"):
        return "ws://" + hub_url[len("http://"):] + "/graphql"
    return hub_url + "/graphql"


def _failure(payload: Any) -> HubFailure:
    """An `error` message's payload (a list of GraphQL errors) as a HubFailure."""
    first = payload[0] if isinstance(payload, list) and payload and \
        isinstance(payload[0], dict) else {}
    code = str((first.get("extensions") or {}).get("code") or "INTERNAL_ERROR")
    return HubFailure(code, explain_error(first) if first else explain(code))


async def ledger_events(hub: ConsoleHub, official: Official, page: str, query: str,
                        variables: Mapping[str, Any] | None = None, *,
                        ttl: int = TOKEN_SECONDS) -> AsyncIterator[dict[str, Any]]:
    """Run the subscription `query` (its one root field an ExchangeEntry) as `official` from
    console page `page`. First yields `{}` once the subscription is sent (a caller catching up
    on what it missed reads the ledger then: nothing recorded later is lost, what it reads
    twice it skips by entry number), then each event's entry until the hub completes or the
    caller stops iterating (the socket is closed then, which ends the subscription at the
    hub).

    The hub checks the token again before each batch of events and ends the subscription
    once it has expired, so its lifetime is `ttl` (longer than a stream lives, at most the
    hub's 10 minutes); an UNAUTHENTICATED error after the subscription ran ends the iteration
    quietly: the caller opens a new one with a fresh token."""
    credentials = dataclasses.replace(hub.credentials, user=official.user,
                                      purpose=hub.config.purpose_for(page), ttl=ttl)
    headers = {"X-Request-Id": f"console-{page}-{secrets.token_hex(6)}"}
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(
                _ws_url(hub.config.hub_url), protocols=(PROTOCOL,), headers=headers,
                heartbeat=30.0, max_msg_size=4 * 1024 * 1024) as ws:
            await ws.send_json({"type": "connection_init",
                                "payload": {"authorization": f"Bearer {credentials.token()}"}})
            ack = await ws.receive(timeout=ACK_SECONDS)
            if ack.type is not aiohttp.WSMsgType.TEXT or \
                    json.loads(ack.data).get("type") != "connection_ack":
                code = ws.close_code or 0
                raise HubFailure("UNAUTHENTICATED" if code in _REFUSED else "UNREACHABLE",
                                 explain("UNAUTHENTICATED" if code in _REFUSED
                                         else "UNREACHABLE"))
            await ws.send_json({"type": "subscribe", "id": "1",
                                "payload": {"query": query, "variables": dict(variables or {})}})
            yield {}  # subscribed: every entry recorded from here on follows
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break  # closed or an error frame: the stream ends, the page reconnects
                data = json.loads(message.data)
                kind = data.get("type")
                if kind == "ping":
                    await ws.send_json({"type": "pong"})
                elif kind == "next":
                    body = data.get("payload") or {}
                    for value in (body.get("data") or {}).values():
                        if isinstance(value, dict):
                            yield value
                elif kind == "error":
                    failure = _failure(data.get("payload"))
                    if failure.code == "UNAUTHENTICATED":
                        return  # the token's life is over: the caller reconnects
                    raise failure
                elif kind == "complete":
                    return
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise HubFailure("UNREACHABLE", explain("UNREACHABLE")) from exc


async def with_heartbeat(source: AsyncIterator[T], seconds: float) -> AsyncIterator[T | None]:
    """`source`'s items, and a `None` whenever `seconds` pass without one. Waiting for the
    next item is never cancelled by a tick (asyncio.wait, not wait_for); when the caller
    stops, the pending read is cancelled and `source` closed."""
    pending: asyncio.Future[T] = asyncio.ensure_future(anext(source))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=seconds)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            yield item
            pending = asyncio.ensure_future(anext(source))
    finally:
        if not pending.done():
            pending.cancel()
        with contextlib.suppress(BaseException):
            await pending
        closer = getattr(source, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()
