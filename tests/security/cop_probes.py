"""graphql-cop's information-disclosure and CSRF probes, re-stated over httpx.

Each probe sends what graphql-cop (github.com/dolevf/graphql-cop, lib/tests/*) sends and applies
its own heuristic for a finding, and returns True when it FINDS the weakness. `auth` returns the
headers of one request (a fresh party token per request under trust: tokens are single use), so
a probe shows the control, not a 401. Alias, directive and field-duplication overloading are in
test_overloading.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

Auth = Callable[[], dict[str, str]]
Probe = Callable[[httpx.AsyncClient, Auth], Awaitable[bool]]

#: what graphql-cop looks for in a page to call it a GraphQL IDE
IDE_HEURISTICS = ("graphiql.min.css", "GraphQL Playground", "GraphiQL", "graphql-playground")
IDE_PATHS = ("/graphiql", "/playground", "/console", "/graphql", "/")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


async def _post(client: httpx.AsyncClient, auth: Auth, query: str) -> Any:
    return _json(await client.post("/graphql", json={"query": query}, headers=auth()))


def _messages(body: Any) -> list[str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return [str(e.get("message", "")) for e in errors or [] if isinstance(e, dict)]


def _typename(body: Any) -> bool:
    data = body.get("data") if isinstance(body, dict) else None
    return isinstance(data, dict) and bool(data.get("__typename"))


async def field_suggestions(client: httpx.AsyncClient, auth: Auth) -> bool:
    body = await _post(client, auth, "query { __schema { directive } }")
    return any("Did you mean" in m for m in _messages(body))


async def get_method_support(client: httpx.AsyncClient, auth: Auth) -> bool:
    """GET queries a page on another site could make a browser send (possible CSRF)."""
    response = await client.get("/graphql", params={"query": "{__typename}"}, headers=auth())
    return _typename(_json(response))


async def get_based_mutation(client: httpx.AsyncClient, auth: Auth) -> bool:
    response = await client.get("/graphql", params={"query": "mutation {__typename}"},
                                headers=auth())
    return _typename(_json(response))


async def post_based_csrf(client: httpx.AsyncClient, auth: Auth) -> bool:
    """graphql-cop's url-encoded POST (the query in the URL, no JSON body), and the three
    bodies a cross-site <form> can send."""
    q = "query {__typename}"
    attempts = [
        client.post("/graphql", params={"query": q}, headers=auth()),
        client.post("/graphql", data={"query": q}, headers=auth()),
        client.post("/graphql", files={"query": (None, q)}, headers=auth()),
        client.post("/graphql", content=f'{{"query": "{q}"}}',
                    headers={**auth(), "content-type": "text/plain"}),
    ]
    return any([_typename(_json(await a)) for a in attempts])


async def detect_graphiql(client: httpx.AsyncClient, auth: Auth) -> bool:
    for path in IDE_PATHS:
        for accept in ("*/*", "text/html,application/xhtml+xml"):
            response = await client.get(path, headers={**auth(), "accept": accept})
            if any(word in response.text for word in IDE_HEURISTICS):
                return True
    return False


async def introspection(client: httpx.AsyncClient, auth: Auth) -> bool:
    body = await _post(client, auth, "query cop { __schema { types { name fields { name } } } }")
    data = body.get("data") if isinstance(body, dict) else None
    return isinstance(data, dict) and bool(data.get("__schema"))


async def circular_introspection(client: httpx.AsyncClient, auth: Auth) -> bool:
    q = ("query { __schema { types { fields { type { fields { type { fields { type { fields "
         "{ type { name } } } } } } } } } } }")
    body = await _post(client, auth, q)
    try:
        return len(body["data"]["__schema"]["types"]) > 25
    except (KeyError, TypeError):
        return False


async def batch_query(client: httpx.AsyncClient, auth: Auth) -> bool:
    batch = [{"query": "query { __typename }"} for _ in range(11)]
    body = _json(await client.post("/graphql", json=batch, headers=auth()))
    return isinstance(body, list) or (isinstance(body, dict)
                                      and isinstance(body.get("data"), list)
                                      and len(body["data"]) >= 10)


def _leaks_trace(body: Any) -> bool:
    text = str(body).lower()
    if "stacktrace" in text or "traceback" in text or "'exception':" in text:
        return True
    for error in body.get("errors") or [] if isinstance(body, dict) else []:
        extensions = error.get("extensions") or {} if isinstance(error, dict) else {}
        if extensions.get("tracing") or extensions.get("exception"):
            return True
    return False


async def trace_mode(client: httpx.AsyncClient, auth: Auth) -> bool:
    body = await _post(client, auth, "query { __typename }")
    return _leaks_trace(body) or (isinstance(body, dict) and "extensions" in body)


async def unhandled_error_detection(client: httpx.AsyncClient, auth: Auth) -> bool:
    return _leaks_trace(await _post(client, auth, "qwerty cop { abc }"))


PROBES: dict[str, Probe] = {
    "field_suggestions": field_suggestions,
    "get_method_support": get_method_support,
    "get_based_mutation": get_based_mutation,
    "post_based_csrf": post_based_csrf,
    "detect_graphiql": detect_graphiql,
    "introspection": introspection,
    "circular_introspection": circular_introspection,
    "batch_query": batch_query,
    "trace_mode": trace_mode,
    "unhandled_error_detection": unhandled_error_detection,
}


async def findings(client: httpx.AsyncClient, auth: Auth) -> dict[str, bool]:
    """Every probe's verdict (True: graphql-cop would report it)."""
    return {name: await probe(client, auth) for name, probe in PROBES.items()}
