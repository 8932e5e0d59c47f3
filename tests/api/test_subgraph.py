"""The hub as a Federation 2 subgraph (issue 13): `_entities` is policed exactly like
`node(id:)` — in scope, out of scope (null, no existence leak), denied field, masked field,
audit entry — batched, capped by the member limit and counted by the cost analysis; a router
without the party's token gets UNAUTHENTICATED and no data. All over real HTTP (ASGI)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse
from sqlalchemy import select

from hub.api.extensions.analysis import analyse
from hub.api.schema import print_sdl, published_schema, subgraph_schema
from hub.app import create_app
from hub.audit.log import AuditEntryRow
from hub.cli.schema import SUBGRAPH_PATH
from hub.federation.identity import to_global_id
from hub.settings import Mode
from tests.api.trusted import Trusted, make_trusted

ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  __typename
  ... on Member { key name birthDate destination { address employer } }
  ... on Organization { code name }
  ... on Activity { id title }
} }"""
MEMBER_ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Member { key name birthDate destination { address employer } } } }"""
NODE = """query($id: ID!) { node(id: $id) {
  ... on Member { key name birthDate destination { address employer } } } }"""


def _codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors", [])}


def _member(key: str) -> dict[str, str]:
    return {"__typename": "Member", "key": key}


async def _serve_subgraph(t: Trusted) -> Trusted:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(
        app=create_app(t.world.runtime, mode=Mode.development(), federation=True)),
        base_url="http://hub")
    return Trusted(dataclasses.replace(t.world, client=client), t.demo, t.trust)


@pytest.fixture
async def subgraph(make_world: Callable[..., Any], tmp_path: Path) -> AsyncIterator[Trusted]:
    t = await _serve_subgraph(await make_trusted(make_world, tmp_path))
    yield t
    await t.trust.close()
    await t.world.client.aclose()


async def test_member_in_scope_answers_as_node_does(subgraph: Trusted) -> None:
    """Same member, same party: `_entities` and `node(id:)` answer the same values, with the
    same transforms (the destination party sees the birth date coarsened to the year, its own
    address in full; the origin party the address masked)."""
    key = subgraph.world.keys[1]
    for party in ("wenjiang", "luxian"):
        body = await subgraph.gql(ENTITIES, {"r": [_member(key)]}, party=party)
        node = await subgraph.gql(NODE, {"id": to_global_id("Member", key)}, party=party)
        assert "errors" not in body and "errors" not in node, (body, node)
        [entity] = body["data"]["_entities"]
        assert entity.pop("__typename") == "Member"
        assert entity == node["data"]["node"]
    wenjiang = (await subgraph.gql(ENTITIES, {"r": [_member(key)]}, party="wenjiang"))
    luxian = (await subgraph.gql(ENTITIES, {"r": [_member(key)]}, party="luxian"))
    w, lx = wenjiang["data"]["_entities"][0], luxian["data"]["_entities"][0]
    assert w["birthDate"] == "1990" and lx["birthDate"] == "1990-02"
    assert w["destination"]["address"] == "温江区涌泉街道1号"
    assert lx["destination"]["address"] != "温江区涌泉街道1号"  # masked for the origin


async def test_organization_and_activity_entities(subgraph: Trusted) -> None:
    acts = await subgraph.gql("{ activities(first: 1) { nodes { id title } } }",
                              party="luxian")
    activity = acts["data"]["activities"]["nodes"][0]
    body = await subgraph.gql(ENTITIES, {"r": [
        {"__typename": "Organization", "code": "LX-YS"},
        {"__typename": "Activity", "id": activity["id"]},
        {"__typename": "Activity", "id": to_global_id("Member", "x")},  # not an activity id
    ]}, party="luxian")
    assert "errors" not in body, body
    org, act, none = body["data"]["_entities"]
    assert org["code"] == "LX-YS" and org["name"]
    assert act == {"__typename": "Activity", **activity} and none is None


async def test_out_of_scope_is_null_like_a_member_that_does_not_exist(
        subgraph: Trusted) -> None:
    keys = subgraph.world.keys
    origin_only = keys[-1]  # held by luxian's county database only
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Member { key } } }"
    hidden = await subgraph.gql(query, {"r": [_member(origin_only)]}, party="wenjiang")
    ghost = await subgraph.gql(query, {"r": [_member("0" * 64)]}, party="wenjiang")
    assert hidden == ghost == {"data": {"_entities": [None]}}
    seen = await subgraph.gql(query, {"r": [_member(origin_only)]}, party="luxian")
    assert seen == {"data": {"_entities": [{"key": origin_only}]}}


async def test_denied_field_is_refused_before_execution(subgraph: Trusted) -> None:
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Member { phone } } }"""
    body = await subgraph.gql(query, {"r": [_member(subgraph.world.keys[0])]}, party="deyang")
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "CONTRACT_DENIED"
    assert "Member.phone" in error["extensions"]["fields"]


async def _last_audit(t: Trusted) -> dict[str, Any]:
    async with t.world.runtime.session_factory() as s:
        last = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq.desc())
                                .limit(1))).one()
    return json.loads(last.body)


async def test_entities_are_audited_like_node(subgraph: Trusted) -> None:
    keys = subgraph.world.keys
    await subgraph.gql(NODE, {"id": to_global_id("Member", keys[2])}, party="wenjiang")
    by_node = await _last_audit(subgraph)
    await subgraph.gql(MEMBER_ENTITIES, {"r": [_member(keys[2])]}, party="wenjiang")
    by_entities = await _last_audit(subgraph)
    same = ("party", "decision", "members", "allowed", "denied")
    assert by_entities["members"] == [keys[2]] and "Member.name" in by_entities["allowed"]
    assert {k: by_entities.get(k) for k in same} == {k: by_node.get(k) for k in same}
    # with a member out of its scope: only the one it saw is recorded
    await subgraph.gql(ENTITIES, {"r": [_member(keys[2]), _member(keys[-1])]},
                       party="wenjiang")
    assert (await _last_audit(subgraph))["members"] == [keys[2]]


async def test_representations_are_batched_per_type(subgraph: Trusted) -> None:
    keys = subgraph.world.keys[:5]
    county = subgraph.world.county
    county.calls.clear()
    body = await subgraph.gql(ENTITIES, {"r": [_member(k) for k in keys]}, party="luxian")
    assert "errors" not in body, body
    assert [e["key"] for e in body["data"]["_entities"]] == keys
    reads = [c.keys for c in county.calls if c.keys]
    assert len(reads) == 1  # one read for all five
    assert len(reads[0]) == 5  # the five members' local ids in that system


async def test_representations_capped_by_the_member_limit(subgraph: Trusted) -> None:
    """luxian's multi-party contract allows 100 members per request: 101 representations are
    refused before anything is read."""
    county = subgraph.world.county
    county.calls.clear()
    reps = [_member(f"{i:064x}") for i in range(101)]
    body = await subgraph.gql(ENTITIES, {"r": reps}, party="luxian")
    assert body["data"] is None and _codes(body) == {"LIMIT_EXCEEDED"}, body
    assert "at most 100" in body["errors"][0]["message"]
    assert not county.calls
    fine = await subgraph.gql(ENTITIES, {"r": reps[:100]}, party="luxian")
    assert "errors" not in fine and fine["data"]["_entities"] == [None] * 100


def test_cost_analysis_counts_every_representation() -> None:
    schema = subgraph_schema()._schema
    document = parse(ENTITIES)

    def cost(n: int) -> int:
        return analyse(schema, document, None, {"r": [_member("k")] * n}).cost

    assert cost(10) > 9 * cost(1)
    plan = analyse(schema, document, None, {"r": [_member("k")] * 7})
    assert plan.entities == 7


async def test_bad_representation_is_bad_user_input_at_its_item(subgraph: Trusted) -> None:
    body = await subgraph.gql(ENTITIES, {"r": [
        {"__typename": "Contract", "id": "x"}, {"__typename": "Member"},
        _member(subgraph.world.keys[0])]}, party="wenjiang")
    assert body["data"]["_entities"][:2] == [None, None]
    assert body["data"]["_entities"][2]["key"] == subgraph.world.keys[0]
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["_entities", 0], "BAD_USER_INPUT"), (["_entities", 1], "BAD_USER_INPUT")]


async def test_router_without_the_party_token_gets_unauthenticated(subgraph: Trusted) -> None:
    reps = {"r": [_member(subgraph.world.keys[0])]}
    for token in (None, "not-a-token"):
        response = await subgraph.post(ENTITIES, reps, token=token)
        assert response.status_code == 401
        body = response.json()
        assert body.get("data") is None and _codes(body) == {"UNAUTHENTICATED"}, body


async def test_service_sdl_is_the_published_subgraph_sdl(subgraph: Trusted) -> None:
    body = await subgraph.gql("{ _service { sdl } }", party="wenjiang")
    assert body["data"]["_service"]["sdl"] == SUBGRAPH_PATH.read_text(encoding="utf-8")


def test_subgraph_sdl_declares_keys_and_leaves_the_plain_sdl_alone() -> None:
    sdl = subgraph_schema().as_str()
    assert sdl.startswith('schema @link(url: "https://specs.apollo.dev/federation/v2.5"')
    for type_, key in (("Member", "key"), ("Organization", "code"), ("Activity", "id")):
        assert f'type {type_} implements Node @key(fields: "{key}"' in sdl
    assert "type PageInfo @shareable" in sdl and "auditHead: AuditHead @inaccessible" in sdl
    plain = print_sdl(published_schema())
    assert "@key" not in plain and "_entities" not in plain and "@link" not in plain


async def test_plain_app_has_no_entities(trusted: Trusted) -> None:
    """A Runtime served without `federation=True` keeps the plain schema."""
    body = await trusted.gql("{ _service { sdl } }", party="wenjiang")
    assert body["data"] is None and _codes(body) == {"GRAPHQL_VALIDATION_FAILED"}


async def test_served_from_settings_the_subgraph_is_on_by_default(tmp_path: Path) -> None:
    """`yanxing serve` (create_app(settings)): `[hub] federation` defaults to true; false
    serves the plain schema."""
    import asyncio

    import uvicorn

    from hub.settings import Settings

    settings = Settings.for_demo(database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    off = dataclasses.replace(settings, hub=dataclasses.replace(settings.hub, federation=False))
    answers = []
    for config in (settings, off):
        server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=0,
                                               log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                r = await client.post("/graphql", json={"query": "{ _service { sdl } }"})
                answers.append(r.json())
        finally:
            server.should_exit = True
            await task
    on_body, off_body = answers
    assert on_body["data"]["_service"]["sdl"] == SUBGRAPH_PATH.read_text(encoding="utf-8")
    assert off_body["data"] is None and _codes(off_body) == {"GRAPHQL_VALIDATION_FAILED"}
