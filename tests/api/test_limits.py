"""Safety limits: depth, page size, cost, body size — refused before any source is read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.api.limits import Limits
from tests.api.conftest import World


async def _code(world: World, query: str, variables: dict[str, Any] | None = None) -> str | None:
    body = await world.gql(query, variables)
    errors = body.get("errors") or [{}]
    return errors[0].get("extensions", {}).get("code")


async def test_page_size(world: World) -> None:
    assert await _code(world, "{ members(first: 101) { totalCount } }") == "LIMIT_EXCEEDED"
    assert await _code(world, "query($n: Int) { members(first: $n) { totalCount } }",
                       {"n": 1000}) == "LIMIT_EXCEEDED"
    assert await _code(world, "{ members(first: 100) { totalCount } }") is None
    nested = '{ organization(code: "LX-YS") { members(first: 500) { totalCount } } }'
    assert await _code(world, nested) == "LIMIT_EXCEEDED"


async def test_depth_and_cost(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(limits=Limits(max_depth=6, max_cost=2_000))
    deep = """{ members { nodes { originOrganization { parent { parent { parent {
      name } } } } } } }"""
    body = await world.gql(deep)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "depth" in body["errors"][0]["message"]
    costly = """{ organizations(first: 50) { nodes { members(first: 50) { nodes { name } } } } }"""
    body = await world.gql(costly)
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "cost" in body["errors"][0]["message"]
    assert world.county.calls == [] and world.city.calls == []
    # introspection is not counted: GraphiQL must keep working under strict limits
    intro = await world.client.post("/graphql", json={"query": INTROSPECTION})
    assert "errors" not in intro.json()
    await world.client.aclose()


async def test_body_size(world: World) -> None:
    huge = "{ members { totalCount } }" + " " * 200_000
    response = await world.client.post("/graphql", json={"query": huge})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"


INTROSPECTION = """query { __schema { types { name fields { name type { kind name ofType {
  kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }"""
