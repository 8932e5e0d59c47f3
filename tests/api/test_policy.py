"""The policy point: masking on every path, and the stage-2 seam (denied fields, row scope,
per-field transforms with the owning party)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from typing import Any

import httpx
from starlette.requests import Request

from hub.app import create_app
from hub.errors import AuthenticationError
from hub.policy.base import BasePolicy, Caller, Subject, Transform
from hub.settings import Mode
from tests.api.conftest import World

RAW_ID = re.compile(r"\d{17}[\dX]")
RAW_PHONE = re.compile(r"1[3-9]\d{9}")


def _assert_nothing_raw(body: Any) -> None:
    text = str(body)
    assert not RAW_ID.search(text), text
    assert not RAW_PHONE.search(text), text


async def test_masked_on_every_path(world: World) -> None:
    key = world.keys[0]
    member = (await world.gql("query($k: ID!) { member(key: $k) { id idNumber phone } }",
                              {"k": key}))["data"]["member"]
    assert re.fullmatch(r"510521\*{8}\d{3}[\dX]", member["idNumber"])
    assert re.fullmatch(r"138\*{4}\d{4}", member["phone"])
    query = """
    fragment Secret on Member { idNumber tel: phone }
    query($k: ID!, $id: ID!) {
      a: member(key: $k) { ...Secret }
      b: node(id: $id) { ... on Member { idNumber ...Secret } }
      c: members(first: 5) { edges { node { ... on Member { x: idNumber } ...Secret } }
                             nodes { phone } }
      d: organization(code: "LX-YS") { contactPhone
           members(first: 3) { nodes { ...Secret } } }
      e: activities { nodes { attendees { member { idNumber } } } }
    }"""
    body = await world.gql(query, {"k": key, "id": member["id"]})
    assert "errors" not in body, body
    assert body["data"]["d"]["contactPhone"] == "139****1111"
    attendees = body["data"]["e"]["nodes"][0]["attendees"]
    assert len(attendees) == 3
    assert all("********" in a["member"]["idNumber"] for a in attendees)
    assert body["data"]["b"]["idNumber"] == member["idNumber"]
    assert body["data"]["c"]["edges"][0]["node"]["x"].startswith("510521****")
    _assert_nothing_raw(body)


class ContractLikePolicy(BasePolicy):
    """A stand-in for stage 2: party 'wenjiang' sees only destination 510115, its own
    sources in full, others' employer coarsened/denied; nobody may read Member.phone."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    def denied_fields(
        self, caller: Caller, requested: Mapping[str, Set[str]]
    ) -> dict[str, set[str]]:
        return {"Member": {"phone"}} if "phone" in requested.get("Member", ()) else {}

    def can_see(self, caller: Caller, subject: Subject) -> bool:
        return subject.destination_region_code == "510115"

    def transform(self, caller: Caller, subject: Subject | None, type_name: str, field: str,
                  owner: str | None) -> Transform:
        self.calls.append((type_name, field, owner))
        if owner == caller.party:
            return Transform.FULL
        if (type_name, field) == ("Member", "idNumber"):
            return Transform.HASHED
        if (type_name, field) == ("Destination", "address"):
            return Transform.DENY
        return Transform.FULL


async def _client(world: World, policy: Any, party: str = "wenjiang") -> httpx.AsyncClient:
    async def authenticate(request: Request) -> Caller:
        if request.headers.get("authorization") != "Bearer ok":
            raise AuthenticationError("token missing or not trusted")
        return Caller(party=party, user="u1", purpose="test")

    app = create_app(world.runtime, authenticate=authenticate, policy=policy,
                     mode=Mode.development())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub",
                             headers={"authorization": "Bearer ok"})


async def test_denied_fields_refuse_before_execution(world: World) -> None:
    client = await _client(world, ContractLikePolicy())
    for query in (
        "{ members { nodes { phone } } }",
        "{ members { edges { node { ... on Member { p: phone } } } } }",
        'fragment F on Member { phone } query { node(id: "TWVtYmVyOng=") { ...F } }',
    ):
        body = (await client.post("/graphql", json={"query": query})).json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "CONTRACT_DENIED",
                                                  "fields": ["Member.phone"]}
    assert world.city.calls == [] and world.county.calls == []  # nothing was read
    await client.aclose()


async def test_row_scope_hides_members_and_counts(world: World) -> None:
    client = await _client(world, ContractLikePolicy())
    body = (await client.post("/graphql", json={"query": "{ members(first: 100) { totalCount "
                                                "nodes { key } } }"})).json()
    assert body["data"]["members"]["totalCount"] == 60  # the origin-only member is hidden
    outside = [
        k for k in world.keys if k not in {n["key"] for n in body["data"]["members"]["nodes"]}
    ]
    assert len(outside) == 1
    hidden = (await client.post("/graphql", json={
        "query": "query($k: ID!) { member(key: $k) { key } }", "variables": {"k": outside[0]}
    })).json()
    assert hidden == {"data": {"member": None}}  # same answer as a key that does not exist
    await client.aclose()


async def test_transforms_use_the_owner_of_the_value(world: World) -> None:
    policy = ContractLikePolicy()
    client = await _client(world, policy, party="wenjiang")  # owns "city" (destination)
    q = """{ members(first: 2) { nodes { idNumber name
            destination { employer address } } } }"""
    body = (await client.post("/graphql", json={"query": q})).json()
    node = body["data"]["members"]["nodes"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", node["idNumber"])   # origin's value: hashed
    assert node["destination"]["address"] is not None         # its own source: full
    owners = {(t, f): o for t, f, o in policy.calls}
    assert (
        owners[("Member", "name")] == "luxian" and owners[("Destination", "employer")] == "wenjiang"
    )
    await client.aclose()
    client = await _client(world, ContractLikePolicy(), party="luxian")
    body = (await client.post("/graphql", json={"query": q})).json()
    node = body["data"]["members"]["nodes"][0]
    assert node["destination"]["address"] is None
    denied = [e for e in body["errors"] if e["extensions"]["code"] == "CONTRACT_DENIED"]
    assert denied and denied[0]["path"][-1] == "address"
    assert denied[0]["extensions"]["fields"] == ["Destination.address"]
    await client.aclose()


async def test_authentication_failure_is_401(world: World) -> None:
    client = await _client(world, ContractLikePolicy())
    response = await client.post("/graphql", json={"query": "{ members { totalCount } }"},
                                 headers={"authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await client.aclose()




def test_every_field_of_every_policed_type_leaves_through_the_policy() -> None:
    from hub.api.extensions.policy import PolicyField
    from hub.api.schema import published_schema
    from hub.api.types.policed import PolicedObject

    schema = published_schema()
    # each entry's definition is one of several strawberry kinds; only policed objects matter
    type_map: dict[str, Any] = schema.schema_converter.type_map
    policed = [t for t in type_map.values()
               if isinstance(getattr(t.definition, "origin", None), type)
               and issubclass(t.definition.origin, PolicedObject)]
    names = {t.definition.name for t in policed}
    assert {"Member", "Destination", "Work", "FourClarities", "SourceRecord",
            "Organization", "MatchCandidate"} <= names
    for t in policed:
        for f in t.definition.fields:
            assert any(isinstance(e, PolicyField) for e in f.extensions), \
                f"{t.definition.name}.{f.name}"


def test_policed_fields_resolve_through_the_direct_policy_resolver() -> None:
    """The fields a page asks for skip strawberry's per-call chain (issue 11) and still leave
    through `policed_value`: a field of a policed type keeps strawberry's resolver only when
    it has arguments (and then `PolicyField` polices it)."""
    from graphql import GraphQLObjectType

    from hub.api.extensions.policed_fields import PolicedExecutor, is_direct
    from hub.api.schema import published_schema

    assert published_schema().execution_context_class is PolicedExecutor
    types = published_schema()._schema.type_map
    for name, fields in {"Member": ("phone", "status", "destination", "name", "idNumber"),
                         "Destination": ("address", "employer", "occupation", "region"),
                         "SourceRecord": ("system", "localId")}.items():
        gql_type = types[name]
        assert isinstance(gql_type, GraphQLObjectType)
        for field in fields:
            assert is_direct(gql_type.fields[field].resolve), f"{name}.{field}"
        # nullable scalars and enums are completed by PolicedExecutor, nothing else is
        leaf, other = {"Member": ("phone", "destination"), "Destination": ("address", "region"),
                       "SourceRecord": ("localId", "system")}[name]
        assert gql_type.fields[leaf].resolve._policed_leaf
        assert not gql_type.fields[other].resolve._policed_leaf  # an object, or non-null
        for field, definition in gql_type.fields.items():
            if definition.args:
                assert not is_direct(definition.resolve), f"{name}.{field}"


def test_each_live_mark_names_what_its_resolver_reads() -> None:
    """`_MemberPart.direct_resolver` answers a `_live` field from its mark, never calling the
    resolver: the mark must say what the resolver's body reads (a wrong mark would serve
    another field's value)."""
    from hub.api.types.member import Destination, FourClarities, Member, Work

    class Recorder:
        def _value(self, info: Any, canonical: str, convert: Any = None) -> Any:
            return (canonical, convert)

    marked = 0
    classes: tuple[type[Any], ...] = (Member, Destination, FourClarities, Work)
    for cls in classes:
        for f in cls.__strawberry_definition__.fields:
            resolver = f.base_resolver
            live = getattr(resolver.wrapped_func, "live_value", None) if resolver else None
            if live is None:
                continue
            marked += 1
            assert resolver.wrapped_func(Recorder(), None) == live, f"{cls.__name__}.{f.name}"
    assert marked == 16
