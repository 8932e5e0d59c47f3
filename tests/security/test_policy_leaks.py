"""Issue 6 §4: no leaks around the contract policy, attacked over real HTTP under real signed
contracts.

Three worlds:
- `trusted` (tests/api/trusted.py): the API test federation (county owned by luxian, city by
  wenjiang) under the demo's two contracts (wenjiang—luxian, and wenjiang+luxian+deyang);
- `narrow`: the same federation under ONE narrow wenjiang—luxian contract (names, status and
  organisations only: no record ids, no organisation life), with parties that are party to
  nothing (`nobody`; `wenjian_`, whose id is a LIKE pattern of `wenjiang`);
- `demo`: `yanxing demo` itself (four systems, uvicorn on 127.0.0.1), for the instances the
  review found: 叙州's `destinationRegion: "3%0000"`, 成都's prohibited `willingVillageCadre`,
  成都 checking members in at a Hangzhou branch or a 叙州 origin branch, and 成都's record ids
  in SOURCE_UNAVAILABLE messages.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from connectors.errors import SourceUnavailable
from hub.audit.log import AuditEntryRow
from hub.clock import utcnow
from hub.contracts.demo import build_demo_trust, two_party_contract
from hub.contracts.keys import load_private_key
from hub.contracts.lifecycle import sign_contract
from hub.contracts.trust import Trust
from hub.federation.identity import to_global_id
from hub.store.models import AttendanceRow, DataIssueRow, SourceLinkRow, SyncStateRow
from tests.api.conftest import make_world, trusted  # noqa: F401  (pytest fixtures)
from tests.api.trusted import Trusted

NARROW_PARTIES = [
    ("wenjiang", "温江区委组织部（涌泉街道）", ["510115"]),
    ("luxian", "泸县委组织部", ["510521"]),
    ("deyang", "德阳市委组织部", ["510600"]),
    ("meishan", "眉山市委组织部", ["511400"]),
    ("nobody", "无协议的一方", ["440300"]),
    ("wenjian_", "名字像通配符的一方", ["510116"]),
]

#: a party to no contract asks under an own-data purpose (any other is refused at the door)
OWN_DATA = "own-records"


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def _denied_paths(body: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {tuple(e["path"]) for e in body.get("errors", [])
            if e["extensions"]["code"] == "CONTRACT_DENIED" and e.get("path")}


def _bad_input(body: dict[str, Any]) -> str:
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    return str(error["message"])


async def _sign_and_submit(t: Trusted, doc: dict[str, Any]) -> None:
    now = utcnow()
    signed: dict[str, Any] = doc
    for party in (p["party"] for p in doc["parties"]):
        kid, path = t.demo.party_keys[party]
        signed = sign_contract(signed, load_private_key(path), kid, now=now)
    signed = sign_contract(signed, t.demo.hub_key, t.demo.hub_kid, now=now)
    await t.trust.store.submit(signed, t.trust.registry, now=now)


def narrow_contract() -> dict[str, Any]:
    now = utcnow()
    doc = two_party_contract(NARROW_PARTIES[0], NARROW_PARTIES[1],
                             not_before=now - timedelta(days=1), not_after=now + timedelta(days=30))
    doc["id"] = "wenjiang--luxian--narrow"
    doc["permissions"]["read"] = [
        {"grantee": "destination", "data_of": "origin", "fields": {
            "Member": {"name": "full", "status": "full", "originOrganization": "full"},
            "Destination": {"organization": "full"}}},
        {"grantee": "origin", "data_of": "destination", "fields": {
            "Member": {"status": "full", "originOrganization": "full"},
            "Destination": {"region": "full", "organization": "full"}}},
    ]
    return doc


@pytest.fixture
async def narrow(make_world: Callable[..., Any], tmp_path: Path) -> AsyncIterator[Trusted]:
    world = await make_world()
    demo = build_demo_trust(tmp_path / "trust", NARROW_PARTIES)
    runtime = world.runtime
    trust = await Trust.open(demo.trust_config(checkpoint_every=5, submit=False),
                             runtime.engine, runtime.session_factory, runtime.registry)
    runtime.enforcement = trust
    t = Trusted(world, demo, trust)
    await _sign_and_submit(t, narrow_contract())
    yield t
    await trust.close()
    await world.client.aclose()


async def _seed_issues_and_candidates(t: Trusted) -> None:
    """Data issues of both sources, about a member in every contract's reach (member 1), a
    member outside wenjiang's (60, known to the county only) and a row without an id; an
    unlinked county record that may be member 1 (a match candidate); sync state."""
    now = datetime.now(UTC)
    common = {"entity": "member", "first_seen": now, "last_seen": now}
    async with t.world.runtime.session_factory() as session:
        session.add_all([
            DataIssueRow(source="county", code="INVALID_DATE", message="csrq: '1990-13-01' is "
                         "not a real date", location="table members id=c1", column="csrq",
                         local_id="c1", **common),
            DataIssueRow(source="county", code="INVALID_DATE", message="csrq: bad",
                         location="table members id=c60", column="csrq", local_id="c60",
                         **common),
            DataIssueRow(source="county", code="MISSING_KEY", message="row has no id",
                         location="county.xlsx", row=9, column="id", **common),
            DataIssueRow(source="city", code="UNKNOWN_CODE", message="sex: '9' is unknown",
                         location="GET /members page 1", row=2, column="sex", local_id="d1",
                         **common),
            SourceLinkRow(source="county", local_id="v1", member_key=None, fields=[],
                          routing={}, content_hash="x", fetched_at=now, side="origin",
                          match_name="张001", match_birth_date=date(1990, 2, 1)),
            SyncStateRow(source="county", entity="member", status="ok", records_seen=61,
                         issues_seen=3, finished_at=now),
            SyncStateRow(source="city", entity="member", status="ok", records_seen=60,
                         issues_seen=1, finished_at=now),
        ])
        linked = (await session.scalars(select(SourceLinkRow).where(
            SourceLinkRow.source == "county", SourceLinkRow.local_id == "c1"))).one()
        linked.match_name, linked.match_birth_date = "张001", date(1990, 2, 1)
        await session.commit()


ISSUES = """{ dataQualityIssues(first: 50) { totalCount
  nodes { system code column localId location row message } } }"""


# ------------------------------------------------------------------ filter values


async def test_filter_values_are_checked_against_their_type(trusted: Trusted) -> None:
    count = "query($f: MemberFilter) { members(filter: $f) { totalCount } }"
    ok = await trusted.gql(count, {"f": {"destinationRegion": "510100"}}, party="wenjiang")
    assert ok["data"]["members"]["totalCount"] == 60
    # a LIKE wildcard in a region code once matched every member the policy thought it had
    # ruled out by scope; now it is refused before the policy or SQL see it
    for variables in ({"f": {"destinationRegion": "5%0000"}}, {"f": {"originRegion": "51%500"}},
                      {"f": {"destinationRegion": "5101"}}, {"f": {"originRegion": "5105_1"}},
                      {"f": {"originOrganization": "LX%"}}):
        # routing values are checked before the policy decides anything from them
        for party in ("wenjiang", "luxian", "deyang"):
            message = _bad_input(await trusted.gql(count, variables, party=party))
            assert "filter." in message
    for variables in ({"f": {"name": "张\x00"}}, {"f": {"name": "\u202e张"}}):
        _bad_input(await trusted.gql(count, variables, party="wenjiang"))
    literal = '{ members(filter: {destinationRegion: "5%0000"}) { totalCount } }'
    assert "destinationRegion" in _bad_input(await trusted.gql(literal, party="wenjiang"))
    for query in ('{ organizations(filter: {region: "5%0000"}) { totalCount } }',
                  '{ organizations(filter: {parent: "L%"}) { totalCount } }',
                  '{ organizations(filter: {name: "\\u0007"}) { totalCount } }',
                  '{ activities(filter: {organization: "W J"}) { totalCount } }',
                  '{ dataQualityIssues(filter: {system: "c%"}) { totalCount } }',
                  '{ dataQualityIssues(filter: {code: "%"}) { totalCount } }'):
        _bad_input(await trusted.gql(query, party="wenjiang"))
    # a name is searched literally: its pattern characters match themselves
    body = await trusted.gql(count, {"f": {"name": "%"}}, party="wenjiang")
    assert body["data"]["members"]["totalCount"] == 0


async def test_a_refused_filter_names_only_the_callers_own_agreements(trusted: Trusted) -> None:
    """extensions.contracts names the agreements behind a refused filter, by title, and only
    agreements the caller is party to (what `contracts` already shows it)."""
    named = {}
    for party in ("wenjiang", "deyang", "luxian"):
        body = await trusted.gql('{ members(filter: {name: "张"}) { totalCount } }',
                                 party=party)
        if "errors" not in body:
            continue  # this party may filter on names
        error = body["errors"][0]["extensions"]
        assert error["code"] == "CONTRACT_DENIED", body
        own = await trusted.gql("{ contracts { title } }", party=party)
        titles = {c["title"] for c in own["data"]["contracts"]}
        assert set(error.get("contracts", [])) <= titles
        named[party] = error.get("contracts", [])
    assert any(named.values()), named


async def test_refused_filter_value_is_audited_as_denied(trusted: Trusted) -> None:
    await trusted.gql('{ members(filter: {destinationRegion: "5%0000"}) { totalCount } }',
                      party="wenjiang")
    async with trusted.world.runtime.session_factory() as s:
        rows = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
    body = json.loads(rows[-1].body)
    assert body["party"] == "wenjiang" and body["decision"] == "denied"


async def test_contracts_match_the_party_exactly(narrow: Trusted) -> None:
    """`wenjian_` is a LIKE pattern of `wenjiang`: it once listed wenjiang's contracts."""
    mine = await narrow.gql("{ contracts { id parties { party } } }", party="wenjiang")
    assert [c["id"] for c in mine["data"]["contracts"]] == ["wenjiang--luxian--narrow"]
    for party in ("wenjian_", "nobody"):
        assert await narrow.gql("{ contracts { id } }", party=party, purpose=OWN_DATA) == {
            "data": {"contracts": []}}


# ------------------------------------------------------------------ data-quality issues


async def test_data_quality_issues_are_scoped_like_members(trusted: Trusted) -> None:
    await _seed_issues_and_candidates(trusted)
    # deyang owns no source, and its contract brings in none of these members (nor grants
    # it any record id: it may not even ask for them)
    body = await trusted.gql("{ dataQualityIssues { totalCount nodes { system code } } }",
                             party="deyang")
    assert body == {"data": {"dataQualityIssues": {"totalCount": 0, "nodes": []}}}, body
    assert _codes(await trusted.gql(ISSUES, party="deyang")) == ["CONTRACT_DENIED"]
    # wenjiang: its own source's issue, and the county's about member 1 (in scope; the
    # two-party contract grants it the county's record ids); never member 60's, never a
    # row the county could not even identify
    body = await trusted.gql(ISSUES, party="wenjiang")
    assert "errors" not in body, body
    issues = body["data"]["dataQualityIssues"]
    assert issues["totalCount"] == 2
    assert {(n["system"], n["localId"]) for n in issues["nodes"]} == {("city", "d1"),
                                                                       ("county", "c1")}
    # the owner sees all of its own
    body = await trusted.gql(ISSUES, party="luxian")
    counts: dict[str, int] = {}
    for n in body["data"]["dataQualityIssues"]["nodes"]:
        counts[n["system"]] = counts.get(n["system"], 0) + 1
    assert counts == {"county": 3, "city": 1}
    # a filter on the system counts only what the caller may see
    filtered = await trusted.gql('{ dataQualityIssues(filter: {system: "county"}) '
                                 '{ totalCount } }', party="wenjiang")
    assert filtered["data"]["dataQualityIssues"]["totalCount"] == 1


async def test_data_quality_issues_show_record_ids_only_when_granted(narrow: Trusted) -> None:
    await _seed_issues_and_candidates(narrow)
    body = await narrow.gql(ISSUES, party="wenjiang")
    nodes = body["data"]["dataQualityIssues"]["nodes"]
    assert body["data"]["dataQualityIssues"]["totalCount"] == 2
    county = next(i for i, n in enumerate(nodes) if n["system"] == "county")
    city = next(i for i, n in enumerate(nodes) if n["system"] == "city")
    # what is wrong, yes; which record and its value, no (no SourceRecord.localId grant)
    assert nodes[county]["code"] == "INVALID_DATE" and nodes[county]["column"] == "csrq"
    for field in ("localId", "location", "row", "message"):
        assert nodes[county][field] is None
    assert {p[-1] for p in _denied_paths(body) if p[2] == county} == {
        "localId", "location", "row", "message"}
    assert nodes[city]["localId"] == "d1" and nodes[city]["message"] == "sex: '9' is unknown"
    assert "c1" not in json.dumps(body)
    # a party to nothing that owns nothing may not even ask for record-level fields
    refused = await narrow.gql(ISSUES, party="nobody", purpose=OWN_DATA)
    assert refused["data"] is None and _codes(refused) == ["CONTRACT_DENIED"]
    assert await narrow.gql("{ dataQualityIssues { totalCount nodes { code } } }",
                            party="nobody", purpose=OWN_DATA) == {
        "data": {"dataQualityIssues": {"totalCount": 0, "nodes": []}}}


# ------------------------------------------------------------------ match candidates


async def test_match_candidates_follow_the_member_grants(narrow: Trusted) -> None:
    await _seed_issues_and_candidates(narrow)
    query = "{ memberMatchCandidates { system localId name birthDate member { key } } }"
    owner = await narrow.gql(query, party="luxian")
    assert "errors" not in owner, owner
    assert owner["data"]["memberMatchCandidates"][0]["localId"] == "v1"
    # wenjiang may see member 1 and the county's names, not the county's record ids or
    # birth dates: the unlinked county record once left in full
    body = await narrow.gql(query, party="wenjiang")
    [candidate] = body["data"]["memberMatchCandidates"]
    assert candidate["name"] == "张001" and candidate["system"] == "county"
    assert candidate["localId"] is None and candidate["birthDate"] is None
    assert {p[-1] for p in _denied_paths(body)} == {"localId", "birthDate"}
    nobody = await narrow.gql(
        "{ memberMatchCandidates { system score } }", party="nobody", purpose=OWN_DATA
    )
    assert nobody == {"data": {"memberMatchCandidates": []}}


# ------------------------------------------------------------------ attendees and counts


ATTENDANCE = """{ activities { nodes { system attendees { mode member { key } }
  attendance { expected present excused online guests participationRate } } } }"""


async def test_attendees_hide_members_the_caller_cannot_see(trusted: Trusted) -> None:
    # the recording party (city = wenjiang) sees its own record in full
    own = (await trusted.gql(ATTENDANCE, party="wenjiang"))["data"]["activities"]["nodes"][0]
    assert len(own["attendees"]) == 3
    assert own["attendance"]["expected"] == 46 and own["attendance"]["guests"] == 10
    # deyang may see none of these members: no entry, and no figure counting them
    body = await trusted.gql(ATTENDANCE, party="deyang")
    assert "errors" not in body, body
    hidden = body["data"]["activities"]["nodes"][0]
    assert hidden["attendees"] == []
    assert hidden["attendance"] == {"expected": 0, "present": 0, "excused": 0, "online": 0,
                                    "guests": None, "participationRate": None}
    # luxian sees its members and is granted their organisation life: the entries it may
    # see, and figures counted over them (no contract grants it wenjiang's aggregates)
    body = await trusted.gql(ATTENDANCE, party="luxian")
    seen = body["data"]["activities"]["nodes"][0]
    assert sorted(a["mode"] for a in seen["attendees"]) == ["ONLINE", "PRESENT", "PRESENT"]
    assert seen["attendance"]["expected"] == 3 and seen["attendance"]["present"] == 2
    assert seen["attendance"]["online"] == 1 and seen["attendance"]["guests"] is None


async def test_attendees_need_the_activities_grant(narrow: Trusted) -> None:
    # luxian sees members 0..2 (its own source) but is granted no organisation life from
    # wenjiang, who recorded the attendance
    body = await narrow.gql(ATTENDANCE, party="luxian")
    node = body["data"]["activities"]["nodes"][0]
    assert node["attendees"] == [] and node["attendance"]["expected"] == 0
    # an attendance row of a member only the county knows, recorded by the county: the
    # county's own record (luxian sees it), hidden from wenjiang
    async with narrow.world.runtime.session_factory() as session:
        session.add(AttendanceRow(source="county", local_id="x60", activity_key="city:a1",
                                  member_key=narrow.world.keys[-1], mode="excused",
                                  fetched_at=datetime.now(UTC)))
        await session.commit()
    modes = lambda b: sorted(a["mode"] for a in b["data"]["activities"]["nodes"][0]["attendees"])  # noqa: E731
    assert modes(await narrow.gql(ATTENDANCE, party="luxian")) == ["EXCUSED"]
    assert modes(await narrow.gql(ATTENDANCE, party="wenjiang")) == [
        "ONLINE", "PRESENT", "PRESENT"]


async def test_member_activities_show_only_granted_records(narrow: Trusted) -> None:
    """Member.activities once listed every system's attendance of a member the caller owns a
    record of: here the county's record of member 1 (not shared with wenjiang by the narrow
    contract) and the city's (not shared with luxian)."""
    key = narrow.world.keys[1]
    async with narrow.world.runtime.session_factory() as session:
        session.add(AttendanceRow(source="county", local_id="x1", activity_key="city:a1",
                                  member_key=key, mode="excused",
                                  fetched_at=datetime.now(UTC)))
        await session.commit()
    query = "query($k: ID!) { member(key: $k) { activities { nodes { mode } } } }"
    modes = lambda b: sorted(a["mode"] for a in  # noqa: E731
                             b["data"]["member"]["activities"]["nodes"])
    # each party sees its own system's record only: none shares organisation life here
    assert modes(await narrow.gql(query, {"k": key}, party="luxian")) == ["EXCUSED"]
    assert modes(await narrow.gql(query, {"k": key}, party="wenjiang")) == ["PRESENT"]


# ------------------------------------------------------------------ check-in


CHECK_IN = """mutation($k: ID!, $o: ID!) { recordCheckIn(memberKey: $k, organization: $o) {
  id organizationCode party } }"""


async def test_check_in_only_at_the_recording_partys_organisations(
        trusted: Trusted) -> None:
    key = trusted.world.keys[0]
    ok = await trusted.gql(CHECK_IN, {"k": key, "o": "WJ-YQ"}, party="wenjiang")
    assert "errors" not in ok, ok
    # LX-YS is luxian's origin branch (the county holds it); LX is held by no source and
    # named by no contract
    for org in ("LX-YS", "LX"):
        body = await trusted.gql(CHECK_IN, {"k": key, "o": org}, party="wenjiang")
        assert body["data"] is None and _codes(body) == ["CONTRACT_DENIED"], body
        assert body["errors"][0]["extensions"]["fields"] == ["Mutation.recordCheckIn"]
    async with trusted.world.runtime.session_factory() as s:
        rows = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
    last = json.loads(rows[-1].body)
    assert last["party"] == "wenjiang" and last["decision"] == "denied"
    assert "Mutation.recordCheckIn" in last["denied"]
    bad = await trusted.gql(CHECK_IN, {"k": key, "o": "WJ YQ%"}, party="wenjiang")
    assert _codes(bad) == ["BAD_USER_INPUT"]


# ------------------------------------------------------------------ source errors


async def test_source_errors_carry_no_record_ids(trusted: Trusted) -> None:
    trusted.world.city.fail = lambda request: SourceUnavailable(
        "city", f"GET /api/members ids={','.join(request.keys or [])}: HTTP 503")
    body = await trusted.gql("{ members(first: 5) { nodes { name destination { employer } } } }",
                             party="luxian")
    [error] = [e for e in body["errors"] if e["extensions"]["code"] == "SOURCE_UNAVAILABLE"]
    assert error["extensions"]["source"] == "city"
    assert error["message"].startswith("source city is unavailable; retry later "
                                       "(SOURCE_UNAVAILABLE)")
    assert not re.search(r"\bd\d+\b", error["message"]), error["message"]
    assert "ids" not in error["message"]


async def test_sync_counts_of_other_parties_sources_are_theirs(trusted: Trusted) -> None:
    await _seed_issues_and_candidates(trusted)
    query = "{ sources { name sync { entity status recordsSeen issuesSeen } } }"
    body = await trusted.gql(query, party="wenjiang")
    sync = {s["name"]: s["sync"] for s in body["data"]["sources"]}
    assert sync["city"] == [{"entity": "member", "status": "ok", "recordsSeen": 60,
                             "issuesSeen": 1}]
    assert sync["county"] == [{"entity": "member", "status": "ok", "recordsSeen": None,
                               "issuesSeen": None}]


async def test_breaker_state_of_other_parties_sources_is_theirs(trusted: Trusted) -> None:
    """How often another party's system fails is that party's to share, like its sync counts."""
    body = await trusted.gql("{ sources { name breaker { state failures } } }", party="wenjiang")
    breakers = {s["name"]: s["breaker"] for s in body["data"]["sources"]}
    assert breakers == {"city": {"state": "CLOSED", "failures": 0}, "county": None}


# ------------------------------------------------------------------ siblings


async def test_counts_never_include_members_the_caller_cannot_see(narrow: Trusted) -> None:
    """A member inside the contract's scope but known only to a system of no contract party
    is hidden from wenjiang, and was still counted by `totalCount`."""
    from hub.store.models import MemberRow

    now = datetime.now(UTC)
    async with narrow.world.runtime.session_factory() as session:
        session.add(MemberRow(key="f" * 64, name="王外", status="in_contact",
                              origin_org_id="LX-YS", origin_region_code="510521",
                              destination_region_code="510115", destination_org_id="WJ-YQ",
                              updated_at=now, indexed_at=now))
        session.add(SourceLinkRow(source="third", local_id="t1", member_key="f" * 64,
                                  fields=[], routing={}, content_hash="x", fetched_at=now,
                                  side="origin"))
        await session.commit()
    for query in ("{ members(first: 100) { totalCount nodes { key } } }",
                  '{ organization(code: "WJ-YQ") { members(first: 100) { totalCount '
                  'nodes { key } } } }'):
        body = await narrow.gql(query, party="wenjiang")
        assert "errors" not in body, body
        page = body["data"].get("members") or body["data"]["organization"]["members"]
        assert page["totalCount"] == len(page["nodes"]) == 60
        assert "f" * 64 not in json.dumps(body)


async def test_a_party_to_nothing_learns_nothing_about_members(narrow: Trusted) -> None:
    await _seed_issues_and_candidates(narrow)
    keys = narrow.world.keys
    gql = narrow.gql
    assert (
        await gql("{ members { totalCount nodes { key } } }", party="nobody", purpose=OWN_DATA)
    ) == {"data": {"members": {"totalCount": 0, "nodes": []}}}
    assert (await gql("query($k: ID!) { member(key: $k) { key } }", {"k": keys[0]},
                      party="nobody", purpose=OWN_DATA)) == {"data": {"member": None}}
    node = await gql("query($id: ID!) { node(id: $id) { id } }",
                     {"id": to_global_id("Member", keys[0])}, party="nobody", purpose=OWN_DATA)
    assert node == {"data": {"node": None}}
    org = await gql('{ organization(code: "LX-YS") { name members { totalCount } } }',
                    party="nobody", purpose=OWN_DATA)
    assert org["data"] is None and _codes(org) == ["CONTRACT_DENIED"]  # the implicit filter
    body = await gql(ATTENDANCE, party="nobody", purpose=OWN_DATA)
    assert body["data"]["activities"]["nodes"][0]["attendees"] == []
    assert body["data"]["activities"]["nodes"][0]["attendance"]["expected"] == 0
    for status in ("RETURNED", "IN_CONTACT"):
        refused = await gql(f"{{ members(filter: {{status: {status}}}) {{ totalCount }} }}",
                            party="nobody", purpose=OWN_DATA)
        assert _codes(refused) == ["CONTRACT_DENIED"]
    # the access log: worded the same for a member that exists and one that does not
    real = await gql("query($k: [ID!]!) { accessLog(memberKeys: $k) { seq } }",
                     {"k": [keys[0]]}, party="nobody", purpose=OWN_DATA)
    fake = await gql("query($k: [ID!]!) { accessLog(memberKeys: $k) { seq } }",
                     {"k": ["0" * 64]}, party="nobody", purpose=OWN_DATA)
    assert _codes(real) == _codes(fake) == ["CONTRACT_DENIED"]
    assert real["errors"][0]["message"] == fake["errors"][0]["message"]
    sources = await gql(
        "{ sources { name sync { recordsSeen } } }", party="nobody", purpose=OWN_DATA
    )
    assert all(s["recordsSeen"] is None for src in sources["data"]["sources"]
               for s in src["sync"])
    assert "c1" not in json.dumps(await gql("{ dataQualityIssues { nodes { system code } } }",
                                            party="nobody", purpose=OWN_DATA))


async def test_a_narrow_contract_leaks_nothing_beyond_its_grants(narrow: Trusted) -> None:
    """wenjiang under the narrow contract: the county's names and status, nothing else of
    the county's (no ids, no organisation life, no work facts) on any path."""
    await _seed_issues_and_candidates(narrow)
    keys = narrow.world.keys
    # member 60 is known to the county only and lives nowhere in wenjiang's reach
    for query, variables in (
        ("query($k: ID!) { member(key: $k) { key } }", {"k": keys[-1]}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("Member", keys[-1])}),
    ):
        body = await narrow.gql(query, variables, party="wenjiang")
        assert list(body["data"].values()) == [None], body
    body = await narrow.gql("""query($k: ID!) { member(key: $k) { name
      sources { system localId } activities { nodes { mode } } } }""", {"k": keys[1]},
                            party="wenjiang")
    member = body["data"]["member"]
    assert member["name"] == "张001"  # the county's name, granted in full
    county = [i for i, s in enumerate(member["sources"]) if s["system"] == "county"]
    assert county and all(member["sources"][i]["localId"] is None for i in county)
    assert ("member", "sources", county[0], "localId") in _denied_paths(body)


# ------------------------------------------------------------------ the demo itself


DEMO_LOOP = pytest.mark.asyncio(loop_scope="module")
XUZHOU, CHENGDU = "xuzhou-county-org", "chengdu-rcxf-operator"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Any, str]]:
    """One `yanxing demo` world for the module (generating and syncing it takes seconds)."""
    import uvicorn

    from hub.app import create_app
    from hub.demo.launch import start_demo

    directory = tmp_path_factory.mktemp("policy-demo") / "demo"
    async with start_demo(directory, port=0, members=240) as hub:
        assert hub.trust is not None
        app = create_app(hub.settings, trust=hub.trust.trust_config(),
                         demo_tokens=(hub.parties, hub.trust.token_for))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                               log_level="warning", lifespan="on"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield hub, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task


async def _ask(demo: tuple[Any, str], party: str, query: str,
               variables: dict[str, Any] | None = None) -> dict[str, Any]:
    hub, url = demo
    token = hub.trust.token_for(party)
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{url}/graphql",
                                     json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


@DEMO_LOOP
async def test_demo_region_wildcard_no_longer_gets_past_the_filter_policy(
        demo: tuple[Any, str]) -> None:
    # 叙州 may not filter on where members live; `3%0000` once counted 杭州's members
    region = "query($r: String) { members(filter: {destinationRegion: $r}) { totalCount } }"
    assert _codes(await _ask(demo, XUZHOU, region, {"r": "330000"})) == ["CONTRACT_DENIED"]
    for value in ("3%0000", "5%0000", "51%500", "33____"):
        _bad_input(await _ask(demo, XUZHOU, region, {"r": value}))


@DEMO_LOOP
async def test_demo_prohibited_field_is_contract_denied(demo: tuple[Any, str]) -> None:
    # the demo contracts prohibit 村干部意愿 of the origin systems' records to 成都: where only
    # an origin system holds it, the field is CONTRACT_DENIED, not a silent null
    body = await _ask(demo, CHENGDU, """{ members(first: 100) { nodes {
        fourClarities { willingVillageCadre } sources { system } } } }""")
    nodes = body["data"]["members"]["nodes"]
    denied = {p[2] for p in _denied_paths(body) if p[-1] == "willingVillageCadre"}
    assert denied, "no member of 成都's reach holds 村干部意愿 only in an origin system"
    for i, node in enumerate(nodes):
        if node["fourClarities"]["willingVillageCadre"] is None:
            assert i in denied, node
    assert all(e["extensions"]["fields"] == ["FourClarities.willingVillageCadre"]
               for e in body["errors"])


@DEMO_LOOP
async def test_demo_check_in_only_at_own_organisations(demo: tuple[Any, str]) -> None:
    orgs = (await _ask(demo, CHENGDU, """{ organizations(first: 100) { nodes { code kind
        region { code } sources { system } } } }"""))["data"]["organizations"]["nodes"]
    hangzhou = next(o["code"] for o in orgs if o["kind"] == "DESTINATION_BRANCH"
                    and o["region"]["code"].startswith("3301"))
    xuzhou_branch = next(o["code"] for o in orgs if o["kind"] == "ORIGIN_BRANCH"
                         and o["region"]["code"] == "511502")
    own = next(o["code"] for o in orgs if o["kind"] == "DESTINATION_BRANCH"
               and {s["system"] for s in o["sources"]} == {"chengdu"})
    members = await _ask(demo, CHENGDU, '{ members(first: 1, filter: {originRegion: "511502", '
                         'destinationRegion: "510100"}) { nodes { key } } }')
    assert members.get("data") is not None, members
    key = members["data"]["members"]["nodes"][0]["key"]
    for org in (hangzhou, xuzhou_branch):
        refused = await _ask(demo, CHENGDU, CHECK_IN, {"k": key, "o": org})
        assert _codes(refused) == ["CONTRACT_DENIED"], (org, refused)
    accepted = await _ask(demo, CHENGDU, CHECK_IN, {"k": key, "o": own})
    assert "errors" not in accepted, accepted


@DEMO_LOOP
async def test_demo_source_unavailable_names_no_record_ids(demo: tuple[Any, str]) -> None:
    hub, _ = demo
    hub.world.chengdu.fail_rate = 1.0  # the last demo test: 成都's platform is down for good
    body = await _ask(demo, XUZHOU, "{ members(first: 50) { nodes { destination { employer } } } }")
    [error] = [e for e in body["errors"] if e["extensions"]["code"] == "SOURCE_UNAVAILABLE"]
    assert error["extensions"]["source"] == "chengdu"
    assert "rc0" not in error["message"] and "ids" not in error["message"], error
