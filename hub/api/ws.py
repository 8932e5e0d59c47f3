"""GraphQL subscriptions over WebSocket at /graphql, the graphql-transport-ws protocol.

The protocol (github.com/enisdenjo/graphql-ws, PROTOCOL.md), as this endpoint speaks it:

- the client opens the socket with subprotocol `graphql-transport-ws` (any other: refused);
- it sends `connection_init` within `INIT_TIMEOUT` seconds (else close 4408), its payload
  carrying the party token: `{"authorization": "Bearer <JWS>"}` (or `{"token": "<JWS>"}`); the
  token is verified as an HTTP request's would be, and a refusal closes with 4403 and is
  audited as a rejection; then `connection_ack`;
- `subscribe` (`id`, `payload: {query, variables, operationName}`) runs one subscription
  operation (queries and mutations belong on POST /graphql: an `error` message); `next` per
  event, `complete` at the end; `error` when it cannot start (with `extensions.code`);
  `complete` from the client stops it; `ping` is answered `pong`;
- protocol violations close the socket: 4400 (a bad message), 4401 (subscribe before
  `connection_ack`), 4409 (an id already running), 4429 (a second `connection_init`).

Every event is audited like one query (hub.api.extensions.audit.access_record): the members
it showed and the fields denied, under the contracts of that moment. A connection holds at
most `MAX_SUBSCRIPTIONS` subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from hub.api.context import Context
from hub.api.extensions.audit import access_record, audit_failure_cause
from hub.api.extensions.errors import format_error
from hub.api.http import Authenticate, anonymous
from hub.api.runtime import Runtime
from hub.errors import AuthenticationError, HubError
from hub.policy.base import Caller
from hub.settings import Mode

__all__ = ["SubscriptionEndpoint", "PROTOCOL", "INIT_TIMEOUT", "MAX_SUBSCRIPTIONS"]

log = logging.getLogger("hub.api")

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT = 10.0
MAX_SUBSCRIPTIONS = 20


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason
        super().__init__(reason)


def _token_header(payload: Any) -> str | None:
    """The Authorization header value the connection_init payload carries."""
    if not isinstance(payload, dict):
        return None
    for key in ("authorization", "Authorization"):
        value = payload.get(key)
        if isinstance(value, str):
            return value
    token = payload.get("token")
    return f"Bearer {token}" if isinstance(token, str) else None


def _request_for(ws: WebSocket, authorization: str | None) -> Request:
    """An HTTP request standing for the connection: the token verifier, the policy and the
    audit read the caller's headers and network from it, as from a POST."""
    headers = [(b"authorization", authorization.encode("latin-1", "replace"))] \
        if authorization is not None else []
    scope: dict[str, Any] = {
        "type": "http", "method": "GET", "path": ws.url.path, "raw_path": b"/graphql",
        "query_string": b"", "headers": headers, "client": ws.scope.get("client"),
        "server": ws.scope.get("server"), "scheme": "http", "http_version": "1.1",
        "root_path": "", "app": ws.scope.get("app"), "state": {}}
    return Request(scope)


def _error_payload(errors: list[Any], mode: Mode) -> list[dict[str, Any]]:
    """Errors as a POST answer would carry them (hub.api.extensions.errors.format_error): a
    code on each, an unexpected one logged and told as "Internal server error" only."""
    return [dict(format_error(e, suggestions=mode.suggestions).formatted)
            if isinstance(e, GraphQLError) else
            {"message": "Internal server error", "extensions": {"code": "INTERNAL_ERROR"}}
            for e in errors]


class SubscriptionEndpoint:
    """The WebSocket side of /graphql. `runtime` is looked up per connection."""

    def __init__(self, schema: strawberry.Schema, runtime: Callable[[WebSocket], Runtime],
                 authenticate: Authenticate | None = None, mode: Mode | None = None) -> None:
        self.schema = schema
        self.runtime = runtime
        self.authenticate = authenticate
        self.mode = mode or Mode()

    async def handle(self, ws: WebSocket) -> None:
        if PROTOCOL not in ws.scope.get("subprotocols", []):
            await ws.close(code=4406, reason=f"use the {PROTOCOL} subprotocol")
            return
        await ws.accept(subprotocol=PROTOCOL)
        tasks: dict[str, asyncio.Task[None]] = {}
        try:
            await self._serve(ws, tasks)
        except _Close as close:
            if ws.application_state != WebSocketState.DISCONNECTED:
                await ws.close(code=close.code, reason=close.reason)
        except WebSocketDisconnect:
            pass
        finally:
            for task in tasks.values():
                task.cancel()
            for task in tasks.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _receive(self, ws: WebSocket, limit: int) -> dict[str, Any]:
        text = await ws.receive_text()
        if len(text) > limit:
            raise _Close(4400, f"message over {limit} bytes")
        try:
            message = json.loads(text)
        except ValueError:
            raise _Close(4400, "messages are JSON objects") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _Close(4400, "a message needs a type")
        return message

    async def _serve(self, ws: WebSocket, tasks: dict[str, asyncio.Task[None]]) -> None:
        runtime = self.runtime(ws)
        limit = runtime.limits.max_body_bytes
        try:
            first = await asyncio.wait_for(self._receive(ws, limit), INIT_TIMEOUT)
        except TimeoutError:
            raise _Close(4408, "Connection initialisation timeout") from None
        if first["type"] != "connection_init":
            raise _Close(4401, "Unauthorized: send connection_init first")
        request = _request_for(ws, _token_header(first.get("payload")))
        caller = await self._caller(runtime, request)
        await ws.send_json({"type": "connection_ack"})
        send_lock = asyncio.Lock()

        async def send(message: dict[str, Any]) -> None:
            async with send_lock:
                await ws.send_text(json.dumps(message, ensure_ascii=False))

        while True:
            message = await self._receive(ws, limit)
            kind = message["type"]
            if kind == "ping":
                await send({"type": "pong"})
            elif kind == "pong":
                continue
            elif kind == "connection_init":
                raise _Close(4429, "Too many initialisation requests")
            elif kind == "subscribe":
                sub_id, payload = message.get("id"), message.get("payload")
                if not isinstance(sub_id, str) or not sub_id or not isinstance(payload, dict):
                    raise _Close(4400, "subscribe needs an id and a payload")
                if sub_id in tasks and not tasks[sub_id].done():
                    raise _Close(4409, f"Subscriber for {sub_id} already exists")
                for done in [i for i, t in tasks.items() if t.done()]:
                    del tasks[done]
                if len(tasks) >= MAX_SUBSCRIPTIONS:
                    await send({"type": "error", "id": sub_id, "payload": [{
                        "message": f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection",
                        "extensions": {"code": "LIMIT_EXCEEDED"}}]})
                    continue
                tasks[sub_id] = asyncio.create_task(
                    self._run(runtime, request, caller, sub_id, payload, send))
            elif kind == "complete":
                task = tasks.pop(str(message.get("id")), None)
                if task is not None:
                    task.cancel()
            else:
                raise _Close(4400, f"unknown message type {kind[:40]!r}")

    async def _caller(self, runtime: Runtime, request: Request) -> Caller:
        enforcement = runtime.enforcement
        authenticate = self.authenticate or (
            enforcement.authenticate if enforcement is not None else anonymous)
        try:
            return await authenticate(request)
        except (AuthenticationError, HubError) as exc:
            if enforcement is not None:
                reason = getattr(exc, "reason", None)
                why = f"unauthenticated:{reason}" if reason else "unauthenticated"
                try:
                    await enforcement.record_rejection(request, why)
                except Exception as audit_error:
                    log.error("audit write failed for a refused connection (%s): %s", why,
                              audit_failure_cause(audit_error))
            raise _Close(4403, f"Forbidden: {exc}"[:120]) from None

    async def _run(self, runtime: Runtime, request: Request, caller: Caller, sub_id: str,
                   payload: dict[str, Any], send: Callable[[dict[str, Any]], Any]) -> None:
        query, variables = payload.get("query"), payload.get("variables")
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not query.strip() or (
                variables is not None and not isinstance(variables, dict)) or (
                operation_name is not None and not isinstance(operation_name, str)):
            await send({"type": "error", "id": sub_id, "payload": [{
                "message": "payload needs a `query` string (and `variables` an object)",
                "extensions": {"code": "BAD_REQUEST"}}]})
            return
        enforcement = runtime.enforcement
        policy = await enforcement.policy_for(caller) if enforcement is not None else None
        context = Context(runtime=runtime, caller=caller, request=request, policy=policy,
                          mode=self.mode)
        try:
            result = await self.schema.subscribe(query, variable_values=variables,
                                                 context_value=context,
                                                 operation_name=operation_name)
            async for event in result:
                body: dict[str, Any] = {"data": event.data}
                if event.errors:
                    body["errors"] = _error_payload(list(event.errors), self.mode)
                if event.data is None and event.errors:
                    # the subscription could not start (a bad argument, a denial)
                    await send({"type": "error", "id": sub_id, "payload": body["errors"]})
                    await self._audit(context, query, operation_name)
                    return
                if not await self._audit(context, query, operation_name):
                    await send({"type": "error", "id": sub_id, "payload": [{
                        "message": "the hub could not audit this event; it was withheld",
                        "extensions": {"code": "AUDIT_UNAVAILABLE"}}]})
                    return
                await send({"type": "next", "id": sub_id, "payload": body})
            await send({"type": "complete", "id": sub_id})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription %s failed", sub_id[:40])
            with contextlib.suppress(Exception):
                await send({"type": "error", "id": sub_id, "payload": [{
                    "message": "Internal server error", "extensions": {"code": "INTERNAL_ERROR"}
                }]})

    async def _audit(self, context: Context, query: str, operation_name: str | None) -> bool:
        """One audit entry per event (and per subscription that could not start); False when
        it could not be written (the event is then not sent: fail closed)."""
        enforcement = context.runtime.enforcement
        if enforcement is None:
            return True
        try:
            await enforcement.record(access_record(context, query, operation_name))
        except Exception as exc:
            log.error("audit write failed for a subscription event: %s",
                      audit_failure_cause(exc))
            return False
        return True
