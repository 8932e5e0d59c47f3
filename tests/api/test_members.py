"""Members through real HTTP: paging, filters, node ids, live merge, batching, provenance."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC
from typing import Any

from hub.api.limits import Limits
from tests.api.conftest import World

PAGE = """query($first: Int, $after: String, $filter: MemberFilter) {
  members(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { key } }
  }
}"""


async def test_paging_first_after_total_and_page_info(world: World) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = (await world.gql(PAGE, {"first": 25, "after": after}))["data"]["members"]
        assert data["totalCount"] == 61
        seen += [e["node"]["key"] for e in data["edges"]]
        assert data["pageInfo"]["hasPreviousPage"] is (pages > 0)
        assert data["pageInfo"]["endCursor"] == data["edges"][-1]["cursor"]
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == world.keys  # every member once, in order


async def test_bad_cursor_is_bad_request(world: World) -> None:
    body = await world.gql(PAGE, {"first": 5, "after": "bm9wZQ=="})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_filters(world: World) -> None:
    async def count(f: dict[str, object]) -> int:
        body = await world.gql(PAGE, {"first": 100, "filter": f})
        assert "errors" not in body, body
        assert len(body["data"]["members"]["edges"]) == body["data"]["members"]["totalCount"]
        return int(body["data"]["members"]["totalCount"])

    assert await count({}) == 61
    assert await count({"originRegion": "510521"}) == 61
    assert await count({"originRegion": "510500"}) == 61      # city code includes 泸县
    assert await count({"originRegion": "510115"}) == 0
    assert await count({"destinationRegion": "510115"}) == 60
    assert await count({"destinationRegion": "510100"}) == 60  # 成都市 includes 温江区
    assert await count({"originOrganization": "LX-YS"}) == 61
    assert await count({"originOrganization": "nope"}) == 0
    assert await count({"status": "RETURNED"}) == 13           # i % 5 == 0 for i in 0..60
    assert await count({"name": "张01"}) == 10                  # 张010 .. 张019
    assert await count({"name": "张01", "status": "RETURNED"}) == 2


async def test_member_and_node_round_trip(world: World) -> None:
    key = world.keys[3]
    body = await world.gql("query($k: ID!) { member(key: $k) { id key name } }", {"k": key})
    member = body["data"]["member"]
    assert base64.b64decode(member["id"]).decode() == f"Member:{key}"
    again = await world.gql(
        'query($id: ID!) { node(id: $id) { id ... on Member { key name } } }',
        {"id": member["id"]},
    )
    assert again["data"]["node"] == member
    org = await world.gql('{ organization(code: "LX-YS") { id name } }')
    org_id = org["data"]["organization"]["id"]
    node = await world.gql('query($id: ID!) { node(id: $id) { ... on Organization { name kind '
                           'parent { name } } } }', {"id": org_id})
    assert node["data"]["node"] == {"name": "涌水村党支部", "kind": "ORIGIN_BRANCH",
                                    "parent": {"name": "泸县委"}}
    missing = await world.gql('query { member(key: "0000") { key } }')
    assert missing == {"data": {"member": None}}


async def test_merge_by_authority_with_provenance(world: World) -> None:
    key = world.keys[7]
    q = """query($k: ID!) { member(key: $k) {
      name status gender birthDate
      destination { region { code name } address employer occupation since
                    organization { name } }
      fourClarities { work { employer } intendsReturnBusiness willingVillageCadre }
      originOrganization { code name }
      sources { system localId fields usedFields }
    } }"""
    m = (await world.gql(q, {"k": key}))["data"]["member"]
    i = int(m["name"][1:4])
    # origin wins membership facts although the destination disagrees
    assert m["name"] == f"张{i:03d}" and m["status"] == "IN_CONTACT"
    # destination wins employer although the origin's record is newer
    assert m["destination"]["employer"] == "温江制造厂"
    assert m["fourClarities"]["work"]["employer"] == "温江制造厂"
    assert m["destination"]["region"] == {"code": "510115", "name": "温江区"}
    assert m["destination"]["since"] == "2016-03"
    assert m["birthDate"] == f"1990-{1 + i % 12:02d}"
    assert m["originOrganization"] == {"code": "LX-YS", "name": "涌水村党支部"}
    assert m["destination"]["organization"] == {"name": "涌泉街道流入党员党支部"}
    by = {s["system"]: s for s in m["sources"]}
    assert by["county"]["localId"] == f"c{i}" and by["city"]["localId"] == f"d{i}"
    assert "employer" in by["county"]["fields"] and "employer" not in by["county"]["usedFields"]
    assert "employer" in by["city"]["usedFields"] and "name" in by["county"]["usedFields"]
    assert "destinationAddress" in by["city"]["usedFields"]


async def test_one_read_per_source_for_a_50_member_page(world: World) -> None:
    q = """{ members(first: 50) { edges { node {
      name phone employer: destination { employer } sources { system }
      fourClarities { destination { address } }
    } } } }"""
    body = await world.gql(q)
    assert "errors" not in body
    assert len(body["data"]["members"]["edges"]) == 50
    assert len(world.county.calls) == 1 and len(world.city.calls) == 1
    assert len(world.county.calls[0].keys or []) == 50


async def test_only_needed_fields_are_read(world: World) -> None:
    await world.gql("{ members(first: 3) { nodes { destination { employer } } } }")
    assert world.city.calls[0].fields == frozenset({"employer", "updated_at"})
    await world.gql("{ members(first: 3) { nodes { key } } }")
    assert len(world.city.calls) == 1  # keys alone need no live read


async def test_activities_and_attendance(make_world: Callable[..., Any]) -> None:
    # lists without `first` count at max_list_size each in the cost model (issue 6): three
    # nested ones need a small bound to stay under max_cost
    world: World = await make_world(limits=Limits(max_list_size=10))
    q = """{ activities(filter: {organization: "WJ-YQ", kind: THEMED_PARTY_DAY}) { totalCount
      nodes { kind title online organiser { name } system
        attendance { expected present excused online guests participationRate }
        attendees { mode member { name activities { nodes { mode activity { title } } } } }
      } } }"""
    body = await world.gql(q)
    assert "errors" not in body, body
    [activity] = body["data"]["activities"]["nodes"]
    assert activity["attendance"] == {"expected": 46, "present": 37, "excused": 7, "online": 2,
                                      "guests": 10, "participationRate": 39 / 46}
    assert activity["organiser"] == {"name": "涌泉街道流入党员党支部"}
    assert {a["mode"] for a in activity["attendees"]} == {"ONLINE", "PRESENT"}
    first = activity["attendees"][0]["member"]
    assert first["activities"]["nodes"] == [
        {"mode": "ONLINE", "activity": {"title": "主题党日：走访流动党员"}}
    ]
    none = await world.gql('{ activities(filter: {kind: TRAINING}) { totalCount } }')
    assert none["data"]["activities"]["totalCount"] == 0


async def test_organizations_and_their_members(world: World) -> None:
    q = """{ organizations(filter: {kind: ORIGIN_BRANCH}) { totalCount nodes { code name
      region { name parent { name } } secretary members(first: 2, status: RETURNED) {
      totalCount nodes { key } } } } }"""
    body = await world.gql(q)
    [org] = body["data"]["organizations"]["nodes"]
    assert org["region"] == {"name": "泸县", "parent": {"name": "泸州市"}}
    assert org["members"]["totalCount"] == 13 and len(org["members"]["nodes"]) == 2
    assert (await world.gql('{ organizations(filter: {region: "510100"}) { totalCount } }')
            )["data"]["organizations"]["totalCount"] == 1


async def test_data_quality_issues_and_match_candidates(world: World) -> None:
    from datetime import date, datetime

    from hub.store.models import DataIssueRow, SourceLinkRow

    now = datetime.now(UTC)
    async with world.runtime.session_factory() as session:
        session.add(DataIssueRow(source="village", entity="member", code="INVALID_ID_NUMBER",
                                 message="身份证号校验位错误", location="台账.xlsx", row=7,
                                 column="身份证号", first_seen=now, last_seen=now))
        session.add(SourceLinkRow(source="village", local_id="v1", member_key=None, fields=[],
                                  routing={}, content_hash="x", fetched_at=now,
                                  match_name="张001", match_birth_date=date(1990, 2, 1)))
        linked = await session.get(SourceLinkRow, 3)  # county record of member 1
        assert linked is not None and linked.local_id == "c1"
        linked.match_name, linked.match_birth_date = "张001", date(1990, 2, 1)
        await session.commit()
    body = await world.gql("""{ dataQualityIssues(filter: {system: "village"}) { totalCount
      nodes { system location row column code message } }
      memberMatchCandidates { system localId name birthDate score reasons member { name } } }""")
    assert "errors" not in body, body
    assert body["data"]["dataQualityIssues"]["nodes"] == [{
        "system": "village", "location": "台账.xlsx", "row": 7, "column": "身份证号",
        "code": "INVALID_ID_NUMBER", "message": "身份证号校验位错误"}]
    [candidate] = body["data"]["memberMatchCandidates"]
    assert candidate["member"] == {"name": "张001"} and candidate["reasons"] == [
        "name",
        "birth_date",
    ]
    assert candidate["birthDate"] == "1990-02-01" and candidate["localId"] == "v1"
