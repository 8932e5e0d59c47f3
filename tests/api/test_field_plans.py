"""Completion plans (hub.api.extensions.field_plans) answer exactly as graphql-core does.

Every operation here is sent twice over HTTP through the app: once as the hub runs it (the
selections of policed objects completed by plan, checked to have been) and once with
graphql-core's own `execute_fields` for every object. The two answers must be the same, byte
for byte in their JSON order: data, errors, their paths, messages and codes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from connectors.errors import SourceUnavailable
from hub.api.extensions.field_plans import PlannedExecutor
from hub.api.types.node import to_global_id
from hub.app import create_app
from hub.policy.base import BasePolicy, Caller, Subject, Transform
from hub.settings import Mode
from tests.api.conftest import World
from tests.api.trusted import Trusted

#: a selection with everything a plan meets: aliases, a field twice, fragments and inline
#: fragments (with and without a type condition), __typename, nested policed objects, enums,
#: custom scalars, an object field outside any plan (region), a list (sources), a member
#: behind an interface (node) and members whose details are loaded late (attendees)
SHAPES = """
fragment Where on Destination { address employer }
fragment Contact on Member { phone ... on Member { status } }
query($k: ID!, $id: ID!) {
  members(first: 12) {
    nodes {
      __typename key id idNumber phone status tel: phone phone ...Contact
      ... { name }
      ... on Member { gender birthDate updatedAt }
      destination { __typename ...Where address a2: address occupation since
                    region { code name } }
      fourClarities { destination { employer } work { occupation employer }
                      intendsReturnBusiness willingVillageCadre }
      sources { system usedFields }
    }
    edges { node { key idNumber destination { address } } }
  }
  member(key: $k) { key idNumber tel: phone status destination { address employer } }
  node(id: $id) { __typename ... on Member { idNumber ...Contact destination { ...Where } } }
  organization(code: "LX-YS") { members(first: 3) { nodes { ...Contact idNumber } } }
  activities { nodes { attendees { mode member { key idNumber phone status
                                                  destination { address } } } } }
}"""

PAGE = """{ members(first: 20) { nodes { key phone status
  destination { address employer occupation } } } }"""


def _shape_variables(world: World) -> dict[str, Any]:
    return {"k": world.keys[0], "id": to_global_id("Member", world.keys[3])}


def _ordered(response: httpx.Response) -> Any:
    """The answer as JSON with its objects' keys in order (dicts compare without it)."""
    return response.status_code, json.loads(response.text, object_pairs_hook=list)


async def _both(send: Callable[[], Awaitable[httpx.Response]]) -> dict[str, Any]:
    """Send an operation by plan and by graphql-core; both answers must be the same."""
    planned_types: list[str] = []
    run = PlannedExecutor._run

    def counted(self: PlannedExecutor, plan: Any, source: Any, path: Any) -> Any:
        planned_types.append(plan.parent.name)
        return run(self, plan, source, path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PlannedExecutor, "_run", counted)
        planned = await send()
    assert planned_types, "no selection was completed by plan"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PlannedExecutor, "execute_fields",
                      StrawberryGraphQLCoreExecutionContext.execute_fields)
        generic = await send()
    assert _ordered(planned) == _ordered(generic)
    body: dict[str, Any] = planned.json()
    return body


def _post(client: httpx.AsyncClient, query: str,
          variables: dict[str, Any] | None = None) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: client.post("/graphql", json={"query": query, "variables": variables})


async def test_shapes_answer_as_graphql_core(world: World) -> None:
    body = await _both(_post(world.client, SHAPES, _shape_variables(world)))
    assert "errors" not in body, body
    node = body["data"]["members"]["nodes"][0]
    assert node["__typename"] == "Member" and node["destination"]["__typename"] == "Destination"
    assert node["tel"] == node["phone"] and "****" in node["phone"]
    assert "********" in node["idNumber"]                  # masked, by plan as by graphql-core
    assert node["destination"]["a2"] == node["destination"]["address"]
    assert list(node)[:6] == ["__typename", "key", "id", "idNumber", "phone", "status"]
    assert body["data"]["node"]["__typename"] == "Member"
    attendees = body["data"]["activities"]["nodes"][0]["attendees"]
    assert len(attendees) == 3 and all("****" in a["member"]["phone"] for a in attendees)


async def test_skip_and_include_answer_as_graphql_core(world: World) -> None:
    query = """query($yes: Boolean!, $no: Boolean!) { members(first: 5) { nodes {
      key phone @include(if: $yes) status @skip(if: $yes) name @include(if: $no)
      destination @include(if: $yes) { address @skip(if: $no) employer @include(if: $no) }
      __typename @skip(if: $no) } } }"""
    body = await _both(_post(world.client, query, {"yes": True, "no": False}))
    assert list(body["data"]["members"]["nodes"][0]) == ["key", "phone", "destination",
                                                         "__typename"]


class _SplitPolicy(BasePolicy):
    """Denies another party's destination address (a nullable leaf: null and an error at its
    path) and, to deyang, the destination of returned members (non-null: the nearest
    nullable parent is nulled)."""

    def transform(self, caller: Caller, subject: Subject | None, type_name: str, field: str,
                  owner: str | None) -> Transform:
        if (type_name, field) == ("Destination", "address") and owner != caller.party:
            return Transform.DENY
        if (type_name, field) == ("Member", "destination") and caller.party == "deyang" and \
                subject is not None and subject.status == "returned":
            return Transform.DENY
        if (type_name, field) == ("Member", "idNumber"):
            return Transform.HASHED
        if (type_name, field) == ("SourceRecord", "fetchedAt") and caller.party == "deyang":
            return Transform.MASKED  # a masked date is no DateTime: a non-null field fails
        return Transform.FULL


async def _policed_client(world: World, party: str) -> httpx.AsyncClient:
    async def authenticate(request: Request) -> Caller:
        return Caller(party=party, user="u1", purpose="test")

    app = create_app(world.runtime, authenticate=authenticate, policy=_SplitPolicy(),
                     mode=Mode.development())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


async def test_denied_fields_answer_as_graphql_core(world: World) -> None:
    client = await _policed_client(world, "luxian")  # the city (wenjiang's) has the address
    body = await _both(_post(client, PAGE.replace("key", "key idNumber")))
    nodes = body["data"]["members"]["nodes"]
    assert len(body["errors"]) == len(nodes) == 20
    for i, (node, error) in enumerate(zip(nodes, body["errors"], strict=True)):
        assert error["path"] == ["members", "nodes", i, "destination", "address"]
        assert error["extensions"] == {"code": "CONTRACT_DENIED",
                                       "fields": ["Destination.address"]}
        assert node["destination"]["address"] is None
        assert node["destination"]["employer"] == "温江制造厂"
        assert len(node["idNumber"]) == 64 or "*" not in node["idNumber"]  # hashed
    await client.aclose()


async def test_nested_nulls_answer_as_graphql_core(world: World) -> None:
    client = await _policed_client(world, "deyang")
    # a denied non-null field nulls its nearest nullable parent: the whole page (its list
    # and connection are non-null) ...
    body = await _both(_post(client, PAGE))
    assert body["data"] is None
    assert [e["path"] for e in body["errors"]] == [["members", "nodes", 0, "destination"]]
    # ... or one member of several, the others answered with their own denied addresses
    query = "query($a: ID!, $b: ID!, $c: ID!) { " + " ".join(
        f"{alias}: member(key: ${alias}) {{ key status destination {{ address employer }} }}"
        for alias in "abc") + " }"
    keys = {"a": world.keys[1], "b": world.keys[0], "c": world.keys[2]}  # keys[0] returned
    body = await _both(_post(client, query, keys))
    assert body["data"]["b"] is None
    assert body["data"]["a"]["destination"] == {"address": None, "employer": "温江制造厂"}
    assert [e["path"] for e in body["errors"]] == [
        ["a", "destination", "address"], ["b", "destination"], ["c", "destination", "address"]]
    # a value its type cannot represent (a masked DateTime, non-null) fails where
    # graphql-core coerces it: the error at its path, the member above it nulled
    query = """query($a: ID!) { a: member(key: $a) { key sources { system fetchedAt } }
                                b: member(key: $a) { key sources { system } } }"""
    body = await _both(_post(client, query, {"a": world.keys[1]}))
    assert body["data"]["a"] is None and body["data"]["b"]["sources"]
    [error] = body["errors"]
    assert error["path"] == ["a", "sources", 0, "fetchedAt"]
    await client.aclose()


async def test_source_down_answers_as_graphql_core(world: World) -> None:
    world.city.fail = lambda request: SourceUnavailable("city", "connection refused")
    body = await _both(_post(world.client, PAGE))
    [error] = [e for e in body["errors"] if "source" in e["extensions"]]
    assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "city"}
    assert error["path"][:2] == ["members", "nodes"]  # reported at the first field it affected
    nodes = body["data"]["members"]["nodes"]
    assert all(n["destination"]["address"] is None for n in nodes)
    assert all(n["destination"]["employer"] == "老东家" for n in nodes)


async def test_contract_policy_answers_as_graphql_core(trusted: Trusted) -> None:
    """The signed contracts decide: masked ID numbers and phones, another party's values
    masked or coarsened or denied at their paths (the contract policy's own memo of
    decisions is asked directly, hub.policy.decisions)."""
    for party in ("wenjiang", "luxian"):
        body = await _both(lambda p=party: trusted.post(   # type: ignore[misc]
            SHAPES, _shape_variables(trusted.world), party=p))
        assert len(body["data"]["members"]["nodes"]) == 12
        assert all(e["extensions"]["code"] == "CONTRACT_DENIED" for e in body.get("errors", ()))
        assert "5105211990" not in json.dumps(body)  # no ID number left unmasked
