"""POST/GET /graphql following GraphQL-over-HTTP, plus the GraphiQL page.

- POST with `application/json`; GET for queries only (a mutation over GET is 405). In
  production mode (hub.settings.Mode) a GET must also prove it was not forged by another site
  (hub.api.csrf; 400 CSRF_PREFLIGHT_REQUIRED otherwise), and browsers get no GraphiQL page.
- Responds `application/graphql-response+json` when the client accepts it (then a request
  that cannot execute at all is HTTP 400), otherwise `application/json` (always 200 once the
  request is well-formed), as the spec's compatibility rules say.
- Unparseable JSON, a body that is not an object, a missing query: 400 with a GraphQL error
  body. Too large a body: 413 (LIMIT_EXCEEDED). Failed authentication: 401 (UNAUTHENTICATED).
- A request still running after `limits.request_timeout_seconds` is cancelled and answered
  504 with REQUEST_TIMEOUT (and still audited).
- Overload (hub.api.ratelimit, hub.api.overload): a client address over its token bucket is
  answered 429 RATE_LIMITED before anything else runs, a party over its bucket right after
  authentication; past the concurrency limit and its queue, 503 OVERLOADED at once. All three
  carry `Retry-After` and are audited as rejections (rate-limited per network themselves).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from hub.api.context import Context
from hub.api.csrf import CSRF_MESSAGE, is_preflighted
from hub.api.extensions.audit import AUDIT_UNAVAILABLE, access_record, audit_failure_cause
from hub.api.graphiql import graphiql_html
from hub.api.observe import Observer
from hub.api.overload import OVERLOADED, ConcurrencyLimit, Shed
from hub.api.ratelimit import RATE_LIMITED, Decision, RateLimiter, retry_after_header
from hub.api.runtime import Runtime
from hub.errors import AuthenticationError, HubError
from hub.policy.base import ANONYMOUS, Caller
from hub.settings import Mode

__all__ = ["Authenticate", "GraphQLEndpoint", "GraphQLJSONResponse", "anonymous", "error_response"]

log = logging.getLogger("hub.api")

Authenticate = Callable[[Request], Awaitable[Caller]]

GRAPHQL_RESPONSE = "application/graphql-response+json"

log = logging.getLogger("hub.api")


async def anonymous(request: Request) -> Caller:
    """Without contracts everyone is the anonymous caller; under them the token verifier runs."""
    return ANONYMOUS


def error_response(status: int, code: str, message: str, *, reason: str | None = None,
                   **headers: str) -> JSONResponse:
    extensions = {"code": code} if reason is None else {"code": code, "reason": reason}
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return JSONResponse(body, status_code=status, headers=headers or None)


class GraphQLJSONResponse(JSONResponse):
    """An execution result as JSON, encoded by orjson (a 50-member page: ~0.5 ms with the
    standard library, ~0.05 ms with orjson); the same compact UTF-8 text as JSONResponse. What
    orjson refuses (an integer beyond 64 bits in a JSON scalar) takes JSONResponse's way; a
    non-finite float, which JSON cannot carry, leaves as null (JSONResponse: a 500)."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # orjson.JSONEncodeError is one
            return super().render(content)


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "BAD_REQUEST") -> None:
        self.status, self.code = status, code
        super().__init__(message)


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "query" not in request.query_params


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BadRequest(f"request body over {limit} bytes", 413, "LIMIT_EXCEEDED")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BadRequest(f"request body over {limit} bytes", 413, "LIMIT_EXCEEDED")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(data: bytes | str, what: str) -> Any:
    """`data` as JSON, or `_BadRequest` saying why not. Safe on anything a client sends: bad
    UTF-8, a document nested deeper than the parser's stack (a 90 KB body of "[[[[..." used to
    be a 500), and lone surrogates (`"\\ud800"` parses, but no answer quoting it could be
    encoded as UTF-8)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise _BadRequest(f"{what} is nested too deeply") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise _BadRequest(f"{what} is not valid JSON (UTF-8)") from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _BadRequest(f"{what} has a lone UTF-16 surrogate (\\ud800-\\udfff): "
                          "send valid Unicode") from None
    except (RecursionError, ValueError):
        raise _BadRequest(f"{what} is nested too deeply") from None
    return value


def _params_from_get(request: Request) -> dict[str, Any]:
    qp = request.query_params
    params: dict[str, Any] = {"query": qp.get("query"), "operationName": qp.get("operationName")}
    if qp.get("variables"):
        params["variables"] = _parse_json(qp["variables"], "`variables`")
    return params


async def _params_from_post(request: Request, limit: int) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", "application/graphql-request+json"):
        raise _BadRequest("send the request as application/json", 415, "BAD_REQUEST")
    params = _parse_json(await _read_body(request, limit), "the request body")
    if not isinstance(params, dict):
        raise _BadRequest("the request body must be a JSON object (batches are not supported)")
    return params


def _validate(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, name = params.get("query"), params.get("variables"), params.get(
        "operationName"
    )
    if not isinstance(query, str) or not query.strip():
        raise _BadRequest("the request has no `query` string")
    if variables is not None and not isinstance(variables, dict):
        raise _BadRequest("`variables` must be a JSON object")
    if name is not None and not isinstance(name, str):
        raise _BadRequest("`operationName` must be a string")
    return query, variables, name


async def _audit_cut_short(context: Context, query: str, operation_name: str | None) -> None:
    """A request ended by its deadline is still one audit entry (what it touched so far): the
    audit step after execution never ran. Bounded itself, so a slow audit log cannot hold the
    answer back."""
    enforcement = context.runtime.enforcement
    if enforcement is None or not context.access.claim():
        return
    context.access.refused()
    try:
        async with asyncio.timeout(5.0):
            await enforcement.record(access_record(context, query, operation_name))
    except Exception:
        log.exception("could not audit a request ended by its deadline")


async def _audit_refusal(write: Awaitable[None], what: str) -> None:
    """Write the audit entry of a refusal. A refusal gives no data, so it stands even when its
    entry cannot be written: the client still gets its 400/401 (never a 500), and the log
    says the audit write failed, without the SQL or the row (which would quote the caller)."""
    try:
        await write
    except Exception as exc:
        log.error("audit write failed for a refused request (%s): %s", what,
                  audit_failure_cause(exc))


async def _audit_unrun(context: Context, query: str, operation_name: str | None,
                       reason: str) -> None:
    """An authenticated operation that strawberry refused before its extensions ran (so the
    audit extension never saw it) still leaves its one `rejected` entry."""
    enforcement = context.runtime.enforcement
    if enforcement is not None and context.access.claim():
        context.access.reject(reason)
        await _audit_refusal(enforcement.record(access_record(context, query, operation_name)),
                             reason)


_OPERATION = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def _named_operation(query: str) -> str | None:
    """The name of the document's first operation when the request names none."""
    match = _OPERATION.match(query)
    return match.group(1) if match else None


def _no_operation_message(operation_name: str | None) -> str:
    """GraphQL spec, GetOperation: a request error when the named operation is not in the
    document, or when no name is given and there is not exactly one operation."""
    if operation_name is not None:
        return (f"the document has no operation named {operation_name[:100]!r}: send the name of "
                "one of its operations as `operationName`")
    return ("the document has no operation, or several: name the one to run with "
            "`operationName`")


class GraphQLEndpoint:
    """The /graphql route. `runtime` is looked up per request (the lifespan sets it)."""

    def __init__(
        self,
        schema: strawberry.Schema,
        runtime: Callable[[Request], Runtime],
        authenticate: Authenticate | None = None,
        mode: Mode | None = None,
        observer: Observer | None = None,
        rate_limiter: RateLimiter | None = None,
        concurrency: ConcurrencyLimit | None = None,
    ) -> None:
        """`authenticate` None: the runtime's enforcement verifies party tokens when it has
        one, else every caller is anonymous (no contracts). `mode` None: production.
        `rate_limiter` / `concurrency` None: no rate limits / no concurrency bound."""
        self.schema = schema
        self.runtime = runtime
        self.authenticate = authenticate
        self.mode = mode or Mode()
        self.observer = observer
        self.rate_limiter = rate_limiter
        self.concurrency = concurrency

    async def handle(self, request: Request) -> Response:
        """Serve one request. Whatever goes wrong, the client gets a GraphQL error body with
        a code, never a traceback; an unexpected failure is logged here with its traceback
        (the server's log is where a developer of the hub looks, not the client's answer).
        With an observer: one span, the metrics and one log line per request (hub.api.observe).
        """
        if self.observer is None:
            return await self._guarded(request)
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        if not request_id.replace("-", "").isalnum():
            request_id = uuid.uuid4().hex
        with self.observer.request_span(request.method) as span:
            runtime = getattr(request.app.state, "runtime", None)
            if runtime is not None:
                self.observer.attach(runtime)
            response = await self._guarded(request)
            self.observer.finish_request(request, response, span, started, request_id)
        response.headers["X-Request-Id"] = request_id
        return response

    async def _guarded(self, request: Request) -> Response:
        try:
            return await self._admitted(request)
        except Exception:
            log.exception("unhandled error serving %s /graphql", request.method)
            return error_response(500, "INTERNAL_ERROR", "Internal server error")

    async def _admitted(self, request: Request) -> Response:
        """The address bucket first (cheapest refusal), then a slot among the requests
        running at once; only then is the request read and served."""
        if self.rate_limiter is not None:
            client = request.client
            decision = await self.rate_limiter.check_address(
                client.host if client is not None else None)
            if not decision.allowed:
                return await self._rate_limited(request, decision, "address")
        if self.concurrency is None:
            return await self._handle(request)
        try:
            async with self.concurrency.slot():
                return await self._handle(request)
        except Shed as exc:
            if self.observer is not None:
                self.observer.shed.labels(exc.reason).inc()
            await self._audit_rejection(request, f"overloaded:{exc.reason}")
            return error_response(
                503, OVERLOADED, "the hub is serving as many requests as it can: retry after "
                "the seconds in Retry-After", **{"Retry-After": "1"})

    async def _rate_limited(self, request: Request, decision: Decision, scope: str
                            ) -> Response:
        if self.observer is not None:
            self.observer.rate_limited.labels(scope).inc()
        await self._audit_rejection(request, f"rate_limited:{scope}")
        whose = "this client address" if scope == "address" else "your party"
        return error_response(
            429, RATE_LIMITED, f"too many requests from {whose} (limits.rate): retry after "
            "the seconds in Retry-After", **{"Retry-After": retry_after_header(
                decision.retry_after)})

    async def _audit_rejection(self, request: Request, reason: str) -> None:
        try:
            enforcement = self.runtime(request).enforcement
        except AttributeError:  # no runtime yet: nothing to audit with
            return
        if enforcement is not None:
            await _audit_refusal(enforcement.record_rejection(request, reason), reason)

    async def _handle(self, request: Request) -> Response:
        if request.method == "GET" and self.mode.graphiql and _wants_html(request):
            return HTMLResponse(graphiql_html(
                parties=getattr(request.app.state, "demo_parties", None)))
        if request.method not in ("GET", "POST"):
            return error_response(405, "BAD_REQUEST", "use GET or POST", Allow="GET, POST")
        if request.method == "GET" and self.mode.csrf_checks \
                and not is_preflighted(request.headers):
            return error_response(400, "CSRF_PREFLIGHT_REQUIRED", CSRF_MESSAGE)
        runtime = self.runtime(request)
        # the deadline runs from here: authentication and the policy lookup count against it
        deadline = runtime.limits.request_timeout_seconds
        ends_at = asyncio.get_running_loop().time() + deadline
        try:
            if request.method == "GET":
                if len(request.url.query) > runtime.limits.max_body_bytes:
                    # a query string is a body too: the same limit
                    raise _BadRequest(f"query string over {runtime.limits.max_body_bytes} "
                                      "bytes", 413, "LIMIT_EXCEEDED")
                params = _params_from_get(request)
            else:
                params = await _params_from_post(request, runtime.limits.max_body_bytes)
            query, variables, operation_name = _validate(params)
            # for hub.api.observe: a metric label and a span attribute, never the document
            request.state.operation_name = operation_name or _named_operation(query)
        except _BadRequest as exc:
            if runtime.enforcement is not None:
                await _audit_refusal(runtime.enforcement.record_rejection(
                    request, exc.code.lower()), exc.code.lower())
            return error_response(exc.status, exc.code, str(exc))
        enforcement = runtime.enforcement
        authenticate = self.authenticate or (
            enforcement.authenticate if enforcement is not None else anonymous)
        try:
            caller = await authenticate(request)
        except AuthenticationError as exc:
            if enforcement is not None:
                reason = getattr(exc, "reason", None)
                why = f"unauthenticated:{reason}" if reason else "unauthenticated"
                await _audit_refusal(enforcement.record_rejection(request, why), why)
            return error_response(401, exc.code, str(exc), reason=getattr(exc, "reason", None),
                                  **{"WWW-Authenticate": "Bearer"})
        except HubError as exc:  # a trust check that is not a token refusal of its own
            return error_response(401, "UNAUTHENTICATED", f"request token refused: {exc}",
                                  reason="untrusted", **{"WWW-Authenticate": "Bearer"})
        request.state.party = caller.party
        if self.rate_limiter is not None and caller.party:
            decision = await self.rate_limiter.check_party(caller.party)
            if not decision.allowed:
                return await self._rate_limited(request, decision, "party")
        policy = (await enforcement.policy_for(caller, request=request)
                  if enforcement is not None else None)
        context = Context(runtime=runtime, caller=caller, request=request, policy=policy,
                          mode=self.mode)
        allowed = {OperationType.QUERY}
        if request.method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            async with asyncio.timeout_at(ends_at):
                result = await self.schema.execute(
                    query, variable_values=variables, context_value=context,
                    operation_name=operation_name, allowed_operation_types=allowed,
                )
        except TimeoutError:
            await _audit_cut_short(context, query, operation_name)
            return error_response(
                504, "REQUEST_TIMEOUT",
                f"the request did not finish within {deadline:g} s "
                "(limits.request_timeout_seconds); ask for less, or retry later")
        except InvalidOperationTypeError:
            await _audit_unrun(context, query, operation_name, "bad_request:operation_type")
            if request.method == "GET":
                return error_response(405, "BAD_REQUEST", "mutations need POST", Allow="POST")
            return error_response(400, "BAD_REQUEST", "this operation type is not supported")
        except MissingQueryError:
            await _audit_unrun(context, query, operation_name, "bad_request")
            return error_response(400, "BAD_REQUEST", "the request has no `query` string")
        except CannotGetOperationTypeError:
            await _audit_unrun(context, query, operation_name, "bad_request:operation")
            return error_response(400, "BAD_REQUEST", _no_operation_message(operation_name))
        except HubError as exc:
            await _audit_unrun(context, query, operation_name, exc.code.lower())
            return error_response(400, exc.code, str(exc))
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
            if any((e.extensions or {}).get("code") == AUDIT_UNAVAILABLE for e in result.errors):
                # the hub failed, not the request; the answer was withheld (fail closed)
                return GraphQLJSONResponse(body, status_code=503, headers={"Retry-After": "5"})
        accept = request.headers.get("accept", "")
        if GRAPHQL_RESPONSE in accept:
            status = 400 if result.data is None and result.errors else 200
            return GraphQLJSONResponse(body, status_code=status, media_type=GRAPHQL_RESPONSE)
        return GraphQLJSONResponse(body)
