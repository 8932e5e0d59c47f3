"""A source that is down, slow or answers garbage: partial data, coded errors, rest intact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.errors import SourceUnavailable
from hub.api.limits import Limits
from tests.api.conftest import World

Q = """{ members(first: 10) { totalCount nodes { key name status
  destination { employer address } sources { system } } } }"""


def _source_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in body.get("errors", []) if "source" in e.get("extensions", {})]


async def test_source_down(world: World) -> None:
    world.city.fail = lambda request: SourceUnavailable("city", "connection refused")
    body = await world.gql(Q)
    [error] = _source_errors(body)  # one error for the source, not one per member
    assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "city"}
    assert error["path"][:2] == ["members", "nodes"]
    nodes = body["data"]["members"]["nodes"]
    assert len(nodes) == 10 and body["data"]["members"]["totalCount"] == 61
    for node in nodes:
        assert node["name"].startswith("张")                 # origin values intact
        assert node["destination"]["address"] is None       # only the city had it
        assert node["destination"]["employer"] == "老东家"   # falls back to the origin's value
        assert node["sources"] == [{"system": "county"}]


async def test_source_timeout(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(timeout=0.1)
    world.county.latency = 1.0
    body = await world.gql(Q)
    [error] = _source_errors(body)
    assert error["extensions"] == {"code": "SOURCE_TIMEOUT", "source": "county"}
    node = body["data"]["members"]["nodes"][0]
    assert node["destination"]["address"] is not None
    assert node["name"].endswith("(城)")  # only the destination's name is left
    await world.client.aclose()


async def test_source_garbage(world: World) -> None:
    world.city._rows["member"]["d1"]["employer"] = {"not": "a string"}
    body = await world.gql(Q)
    [error] = _source_errors(body)
    assert error["extensions"] == {"code": "SOURCE_INVALID", "source": "city"}
    assert "dict" in error["message"]
    assert all(n["destination"]["address"] is None for n in body["data"]["members"]["nodes"])


async def test_both_down_still_answers_from_the_index(world: World) -> None:
    world.city.fail = lambda request: SourceUnavailable("city", "down")
    world.county.fail = lambda request: SourceUnavailable("county", "down")
    body = await world.gql("{ members(first: 3) { totalCount nodes { key name } } }")
    assert {e["extensions"]["source"] for e in _source_errors(body)} == {"city", "county"}
    assert body["data"]["members"]["totalCount"] == 61
    assert [n["name"] for n in body["data"]["members"]["nodes"]] == [None, None, None]


async def test_members_per_request_limit(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(limits=Limits(max_members_per_request=5))
    body = await world.gql("{ members(first: 10) { nodes { name } } }")
    assert {e["extensions"]["code"] for e in body["errors"]} == {"LIMIT_EXCEEDED"}
    assert world.city.calls == []
    await world.client.aclose()
