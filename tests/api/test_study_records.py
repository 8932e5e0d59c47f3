"""Study records (学习记录) and yearly study hours through GraphQL under the demo's contracts,
and the study platform as an auxiliary source (issue 10 §5a, §6).

`yanxing demo` itself (five systems, uvicorn on 127.0.0.1): the study platform is the fifth, an
auxiliary origin-side system. Its study records contract lets 叙州 (origin) read the records and
the yearly hours, 成都 and 浙江 (destinations) the hours only; one more contract signed here
grants 浙江 the records masked (course, platform and hours; no time, no score).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from hub.clock import utcnow
from hub.contracts.demo import DEMO_PURPOSE
from hub.contracts.keys import load_private_key
from hub.contracts.lifecycle import sign_contract
from hub.demo import _study
from hub.federation.identity import member_key

LOOP = pytest.mark.asyncio(loop_scope="module")
XUZHOU, CHENGDU = "xuzhou-county-org", "chengdu-rcxf-operator"
ZHEJIANG, STUDY = "zhejiang-platform-operator", "study-platform-operator"
VILLAGE = "luxian-yongshui-village"


def _masked_contract(now: Any) -> dict[str, Any]:
    from hub.clock import format_time

    return {
        "type": "yanxing.contract", "id": "zhejiang--study-masked", "version": 1,
        "supersedes": None, "title": "浙江—学习平台学习记录（脱敏）",
        "parties": [{"party": ZHEJIANG, "role": "destination"},
                    {"party": XUZHOU, "role": "origin"},
                    {"party": STUDY, "role": "observer"}],
        "validity": {"not_before": format_time(now.replace(year=now.year - 1)),
                     "not_after": format_time(now.replace(year=now.year + 1))},
        "scope": {"origin_region_codes": ["511502"],
                  "destination_region_codes": ["330000"]},
        "permissions": {"read": [{"grantee": "destination", "data_of": "observer",
                                  "fields": {"Member": {"studyRecords": "masked"}}}],
                        "record": {}},
        "obligations": [], "purposes": [DEMO_PURPOSE],
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Any, str]]:
    import uvicorn

    from hub.app import create_app
    from hub.demo.launch import start_demo

    directory = tmp_path_factory.mktemp("study-demo") / "demo"
    async with start_demo(directory, port=0, members=300) as hub:
        trust = hub.trust
        assert trust is not None
        now = utcnow()
        signed: dict[str, Any] = _masked_contract(now)
        for party in (ZHEJIANG, XUZHOU, STUDY):
            kid, path = trust.party_keys[party]
            signed = sign_contract(signed, load_private_key(path), kid, now=now)
        signed = sign_contract(signed, trust.hub_key, trust.hub_kid, now=now)
        extra = trust.directory / "contracts" / "zhejiang--study-masked.jws.json"
        extra.write_text(json.dumps(signed), encoding="utf-8")
        trust.contracts["zhejiang--study-masked"] = extra
        app = create_app(hub.settings, trust=trust.trust_config(),
                         demo_tokens=(hub.parties, trust.token_for))
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
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{url}/graphql", json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {hub.trust.token_for(party)}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _expected(hub: Any, *, moved_too: bool = False) -> dict[str, list[_study.StudyRecord]]:
    """member key -> the study records the platform holds of that member (without `moved_too`,
    not of members a seeded transfer moved: the contracts scoped on their old origin no longer
    cover them, though the platform still sees its own)."""
    secret = hub.settings.hub.secret_bytes
    moved = set(hub.history.completed_members) if hub.history else set()
    out: dict[str, list[_study.StudyRecord]] = {}
    for person in hub.world.world.members():
        if _study.studies(person):
            records = list(_study.study_records(_study.study_member(person)))
            out[member_key(secret, person.id_number)] = records
    return {key: records for key, records in out.items() if moved_too or key not in moved}


def _hours(records: list[_study.StudyRecord], year: int) -> float | None:
    hours = [r.hours for r in records if r.completed_at.year == year]
    return sum(hours) if hours else None


MEMBERS = """query($after: String) { members(first: 50, after: $after) {
  pageInfo { hasNextPage endCursor } nodes { key
  studyRecords(first: 10) { totalCount nodes { course platform hours completedAt score system } }
  h23: studyHours(year: 2023) h24: studyHours(year: 2024) } } }"""


async def _members(demo: tuple[Any, str], party: str) -> tuple[list[dict[str, Any]],
                                                                  list[dict[str, Any]]]:
    nodes: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    after = None
    while True:
        body = await _ask(demo, party, MEMBERS, {"after": after})
        errors += body.get("errors", [])
        page = body["data"]["members"]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes, errors
        after = page["pageInfo"]["endCursor"]


@LOOP
async def test_origin_reads_study_records_and_yearly_hours(demo: tuple[Any, str]) -> None:
    hub, _ = demo
    expected = _expected(hub)
    nodes, errors = await _members(demo, XUZHOU)
    assert not [e for e in errors if e["extensions"]["code"] != "CONTRACT_DENIED"]
    studied = [n for n in nodes if expected.get(n["key"]) and n["studyRecords"] is not None]
    assert len(studied) > 10
    for node in studied:
        records = expected[node["key"]]
        got = node["studyRecords"]
        assert got["totalCount"] == len(records)
        newest_first = sorted(records, key=lambda r: r.completed_at, reverse=True)
        assert [n["course"] for n in got["nodes"]] == [r.course for r in newest_first]
        assert {n["system"] for n in got["nodes"]} == {"study"}
        assert [n["score"] for n in got["nodes"]] == [r.score for r in newest_first]
        assert node["h23"] == _hours(records, 2023) and node["h24"] == _hours(records, 2024)
    # members the platform does not hold have none, and hours are null rather than 0
    assert any(n["studyRecords"]["totalCount"] == 0 and n["h24"] is None for n in nodes
               if n["key"] not in expected)


@LOOP
async def test_destination_reads_the_hours_but_not_the_records(demo: tuple[Any, str]) -> None:
    hub, _ = demo
    expected = _expected(hub)
    nodes, errors = await _members(demo, CHENGDU)
    studied = [n for n in nodes if expected.get(n["key"])]
    assert studied and any(n["studyRecords"] is None for n in studied)
    assert {e["extensions"]["code"] for e in errors} == {"CONTRACT_DENIED"}
    assert {e["path"][-1] for e in errors} == {"studyRecords"}
    for node in studied:
        # the records are the study platform's, not granted to 成都: denied where no party of
        # the member grants 成都 anything (CONTRACT_DENIED), else an empty list (its own)
        assert node["studyRecords"] in (None, {"totalCount": 0, "nodes": []})
        records = expected[node["key"]]
        assert node["h23"] == _hours(records, 2023) and node["h24"] == _hours(records, 2024)


@LOOP
async def test_a_masked_grant_shows_no_time_and_no_score(demo: tuple[Any, str]) -> None:
    hub, _ = demo
    expected = _expected(hub)
    secret = hub.settings.hub.secret_bytes
    from_xuzhou = {member_key(secret, p.id_number) for p in hub.world.world.members()
                   if p.origin_region_code == "511502"}
    nodes, _ = await _members(demo, ZHEJIANG)
    # the masked contract covers 叙州's members (those of 泸县 are not granted: empty or denied)
    studied = [n for n in nodes if expected.get(n["key"]) and n["key"] in from_xuzhou]
    assert studied
    for node in studied:
        got = node["studyRecords"]
        assert got["totalCount"] == len(expected[node["key"]])
        assert all(n["completedAt"] is None and n["score"] is None and n["hours"] > 0
                   for n in got["nodes"])


@LOOP
async def test_the_study_platform_sees_its_own_records_and_nothing_it_lost(
        demo: tuple[Any, str]) -> None:
    hub, _ = demo
    expected = _expected(hub, moved_too=True)  # its own records, transfers or not
    body = await _ask(demo, STUDY, """{ members(first: 40) { nodes { key
        studyRecords(first: 5) { totalCount } h24: studyHours(year: 2024)
        name phone sources { system usedFields } } } }""")
    nodes = [n for n in body["data"]["members"]["nodes"]
             if "study" in {s["system"] for s in n["sources"]}]
    assert nodes and all(n["studyRecords"]["totalCount"] == len(expected.get(n["key"], []))
                         for n in nodes)
    # an observer of the study contract: the contract brings it no person (only aggregates,
    # hub.contracts.policy), so it sees its own system's members with its own values, and no
    # value of the systems of record reaches it (their name and phone won the merge)
    used = {s["system"] for n in nodes for s in n["sources"] if s["usedFields"]}
    assert used == {"study"}, used


@LOOP
async def test_auxiliary_study_platform_never_overrides_the_systems_of_record(
        demo: tuple[Any, str]) -> None:
    """The platform's records are newer and spell names their own way, yet neither the index
    (synced) nor a live read of both real systems takes its name, ID number or phone."""
    from connectors.factory import open_connector
    from hub.federation.fetch import Link, LiveFetcher
    from hub.federation.identity import phone_hash
    from hub.federation.sources import SourceEntry, SourceRegistry
    from hub.model import Side
    from hub.store.models import MemberRow, SourceLinkRow
    from hub.store.session import create_engine, create_session_factory

    hub, _ = demo
    secret = hub.settings.hub.secret_bytes
    people = {member_key(secret, p.id_number): p for p in hub.world.world.members()}
    engine = create_engine(hub.settings.hub.database_url)
    try:
        async with create_session_factory(engine)() as session:
            links = (await session.execute(select(
                SourceLinkRow.member_key, SourceLinkRow.source, SourceLinkRow.local_id,
                SourceLinkRow.auxiliary))).all()
            rows = {r.key: r for r in (await session.scalars(select(MemberRow))).all()}
    finally:
        await engine.dispose()
    held: dict[str, dict[str, str]] = {}
    for key, source, local_id, auxiliary in links:
        if key:
            held.setdefault(key, {})[source] = local_id
        if source == "study":
            assert auxiliary is not None
            assert "name" in auxiliary and "phone_hash" in auxiliary
    both = {k: v for k, v in held.items() if {"study", "county"} <= v.keys()}
    renamed = [k for k in both if _study.study_name(people[k]) != people[k].name]
    moved = [k for k in both if people[k].phone != people[k].origin_phone]
    assert len(both) > 5 and renamed and moved
    for key in both:
        person = people[key]
        assert rows[key].name == person.name  # the county's, not the platform's spelling
        if held[key].keys() == {"study", "county"}:  # the newest phone of record: county's
            assert rows[key].phone_hash == phone_hash(secret, person.origin_phone)

    registry = SourceRegistry([
        SourceEntry(name, Side(hub.settings.source(name).side),
                    open_connector(hub.settings.source(name).mapping))
        for name in ("county", "study")])
    try:
        fetched = await LiveFetcher(registry).fetch_members(
            {k: [Link(s, both[k][s]) for s in ("study", "county")] for k in both})
    finally:
        await registry.aclose()
    assert not fetched.errors
    for key in both:
        merged, person = fetched.members[key], people[key]
        assert merged.get("name") == person.name and merged.source_of("name") == "county"
        assert merged.get("phone") == person.origin_phone
        assert merged.source_of("phone") == merged.source_of("id_number") == "county"
        # the newest record's time is still the member's: a time is not a fact to rank
        assert merged.source_of("updated_at") == "study"


@LOOP
async def test_study_hours_needs_a_real_year_and_the_connection_is_costed(
        demo: tuple[Any, str]) -> None:
    body = await _ask(demo, XUZHOU, "{ members(first: 1) { nodes { studyHours(year: 99) } } }")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    body = await _ask(demo, XUZHOU,
                      "{ members(first: 1) { nodes { studyRecords(first: 1000) { totalCount } }"
                      " } }")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIMIT_EXCEEDED"]
    body = await _ask(demo, XUZHOU, """{ members(first: 100) { nodes {
        a: studyRecords(first: 100) { nodes { course } } b: studyRecords(first: 100) {
        nodes { course } } c: studyRecords(first: 100) { nodes { course } } } } }""")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIMIT_EXCEEDED"]
    assert body["data"] is None

