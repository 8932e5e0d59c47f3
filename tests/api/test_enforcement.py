"""Signed contracts enforced through GraphQL (issue 3 §4, §6): the same query answered per
party, forbidden fields on every path, scope without existence leaks, record permissions,
revocation on the very next request, the contract limit, and what the audit log keeps."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.audit.log import AuditEntryRow
from hub.contracts.keys import load_private_key
from hub.contracts.lifecycle import make_revocation
from hub.federation.identity import to_global_id
from hub.store.models import MemberRow
from hub.store.session import create_engine, create_session_factory
from tests.api.trusted import Trusted

PROFILE = """query($k: ID!) { member(key: $k) {
  key name birthDate gender
  destination { employer address }
  fourClarities { willingVillageCadre }
} }"""


def _codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors", [])}


async def test_one_query_answered_differently_per_party(trusted: Trusted) -> None:
    key = trusted.world.keys[1]
    origin = (await trusted.gql(PROFILE, {"k": key}, party="luxian"))
    destination = (await trusted.gql(PROFILE, {"k": key}, party="wenjiang"))
    assert "errors" not in origin and "errors" not in destination, (origin, destination)
    o, d = origin["data"]["member"], destination["data"]["member"]
    # origin: its own membership facts in full, the destination's work facts by contract
    assert o["name"] == "张001" and o["birthDate"] == "1990-02"
    assert o["destination"]["employer"] == "温江制造厂"
    assert o["destination"]["address"] != "温江区涌泉街道1号"  # granted masked
    assert o["fourClarities"]["willingVillageCadre"] is True
    # destination: the origin's name, birth date coarsened to the year
    assert d["name"] == "张001" and d["birthDate"] == "1990"
    assert d["destination"]["address"] == "温江区涌泉街道1号"  # its own source, in full
    # a party whose contract grants nothing of this asks and is refused before execution
    refused = await trusted.gql(PROFILE, {"k": key}, party="deyang")
    assert refused["data"] is None and _codes(refused) == {"CONTRACT_DENIED"}
    assert "Member.name" in refused["errors"][0]["extensions"]["fields"]


PATHS = {
    "node": """query($id: ID!) { node(id: $id) { ... on Member { phone } } }""",
    "nested relation": """{ organization(code: "LX-YS") { members { nodes { phone } } } }""",
    "activity attendees": """{ activities { nodes { attendees { member { phone } } } } }""",
    "fragment": """fragment F on Member { phone } { members { nodes { ...F } } }""",
    "inline fragment": """{ members { nodes { ... on Member { phone } } } }""",
    "alias": """{ members { nodes { tel: phone } } }""",
    "connection edges": """{ members { edges { node { phone } } } }""",
    "connection nodes": """{ members { nodes { key phone } } }""",
}


@pytest.mark.parametrize("path", PATHS)
async def test_forbidden_field_refused_on_every_path(trusted: Trusted, path: str) -> None:
    variables = {"id": to_global_id("Member", trusted.world.keys[0])}
    body = await trusted.gql(PATHS[path], variables if "$id" in PATHS[path] else None,
                             party="deyang")
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "CONTRACT_DENIED"
    assert "Member.phone" in error["extensions"]["fields"]
    assert "Member.phone" in error["message"]


PER_MEMBER_PATHS = {
    "member + alias + fragment": ("""fragment W on Destination { job: employer }
        query($k: ID!) { member(key: $k) { destination { ...W } } }""",
                                  ("member", "destination", "job")),
    "node + inline fragment": ("""query($id: ID!) { node(id: $id) {
        ... on Member { destination { employer } } } }""", ("node", "destination", "employer")),
}


@pytest.mark.parametrize("path", PER_MEMBER_PATHS)
async def test_per_member_denial_nulls_the_field(trusted: Trusted, path: str) -> None:
    """luxian sees its own member 1, who now lives outside the contract's scope: the
    destination's employer value is not granted for this member (null + CONTRACT_DENIED),
    while it is for every member in scope."""
    key = trusted.world.keys[1]
    async with trusted.world.runtime.session_factory.begin() as s:
        await s.execute(update(MemberRow).where(MemberRow.key == key)
                        .values(destination_region_code="510104"))
    query, at = PER_MEMBER_PATHS[path]
    body = await trusted.gql(query, {"k": key, "id": to_global_id("Member", key)},
                             party="luxian")
    value: Any = body["data"]
    for step in at[:-1]:
        value = value[step]
    assert value[at[-1]] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "CONTRACT_DENIED" and error["path"] == list(at)
    listed = await trusted.gql("""{ members(first: 3) { edges { node { key
        destination { employer } } } } }""", party="luxian")
    by_key = {e["node"]["key"]: e["node"]["destination"]["employer"]
              for e in listed["data"]["members"]["edges"]}
    assert by_key[key] is None and by_key[trusted.world.keys[0]] == "温江制造厂"
    assert [e["path"] for e in listed["errors"]] == [["members", "edges", 1, "node",
                                                      "destination", "employer"]]


async def test_member_outside_scope_is_not_found(trusted: Trusted) -> None:
    keys = trusted.world.keys
    origin_only = keys[-1]  # known to luxian's county database only
    count = "{ members { totalCount nodes { key } } }"
    one = "query($k: ID!) { member(key: $k) { key } }"
    # wenjiang: its own 60 members; the origin-only one does not exist for it
    body = await trusted.gql(count, party="wenjiang")
    assert body["data"]["members"]["totalCount"] == 60
    assert origin_only not in {n["key"] for n in body["data"]["members"]["nodes"]}
    assert await trusted.gql(one, {"k": origin_only}, party="wenjiang") == \
        {"data": {"member": None}}
    # the same answer as for a key that exists nowhere (no existence leak)
    assert await trusted.gql(one, {"k": "0" * 64}, party="wenjiang") == {"data": {"member": None}}
    assert (await trusted.gql(count, party="luxian"))["data"]["members"]["totalCount"] == 61
    # deyang's contract covers members from its own regions only: none here
    body = await trusted.gql(count, party="deyang")
    assert body["data"]["members"] == {"totalCount": 0, "nodes": []}
    node = await trusted.gql("query($id: ID!) { node(id: $id) { id } }",
                             {"id": to_global_id("Member", keys[0])}, party="deyang")
    assert node == {"data": {"node": None}}


CHECK_IN = """mutation($k: ID!) { recordCheckIn(memberKey: $k, organization: "WJ-YQ",
  note: "扫码报到") { id memberKey organizationCode party contractDigests } }"""


async def test_mutation_needs_the_record_permission(trusted: Trusted) -> None:
    key = trusted.world.keys[0]
    ok = await trusted.gql(CHECK_IN, {"k": key}, party="wenjiang")  # destination: checkin
    assert "errors" not in ok, ok
    receipt = ok["data"]["recordCheckIn"]
    assert receipt["party"] == "wenjiang" and receipt["memberKey"] == key
    assert len(receipt["contractDigests"]) == 2
    denied = await trusted.gql(CHECK_IN, {"k": key}, party="luxian")  # origin: no checkin
    assert denied["data"] is None and _codes(denied) == {"CONTRACT_DENIED"}
    assert denied["errors"][0]["extensions"]["fields"] == ["Mutation.recordCheckIn"]
    unseen = await trusted.gql(CHECK_IN, {"k": key}, party="deyang")  # out of its scope
    assert unseen["data"] is None and _codes(unseen) == {"NOT_FOUND"}
    from hub.exchange import entries_of_member

    stored = await entries_of_member(trusted.world.runtime.session_factory, key)
    assert [(c.party, c.organization) for c in stored] == [("wenjiang", "WJ-YQ")]


async def test_revocation_is_honoured_by_the_very_next_request(trusted: Trusted) -> None:
    key = trusted.world.keys[1]
    query = "query($k: ID!) { member(key: $k) { gender } contracts { id state } }"
    before = await trusted.gql(query, {"k": key}, party="wenjiang")
    assert before["data"]["member"]["gender"] == "MALE"  # granted by the two-party contract
    assert {c["state"] for c in before["data"]["contracts"]} == {"active"}
    contract = next(c for c in await trusted.trust.store.active_contracts()
                    if c.id == "wenjiang--luxian")
    kid, key_file = trusted.demo.party_keys["luxian"]
    revocation = make_revocation(contract, "协议终止", load_private_key(key_file), kid)
    await trusted.trust.store.revoke(revocation, trusted.trust.registry)
    after = await trusted.gql(query, {"k": key}, party="wenjiang")
    assert after["data"]["member"]["gender"] is None  # the county is no longer even asked
    states = {c["id"]: c["state"] for c in after["data"]["contracts"]}
    assert states["wenjiang--luxian"] == "revoked"


async def test_contract_validity_is_honoured_exactly_with_the_policy_cached(
        trusted: Trusted) -> None:
    """The cached policy holds only until the earliest start or end of a contract's validity:
    the first request at (or after) that time is decided by the contracts then in force."""
    from datetime import timedelta

    trust = trusted.trust
    contracts = await trust.store.active_contracts()
    start = min(c.not_before for c in contracts)
    end = min(c.not_after for c in contracts)
    assert all(c.not_after == end for c in contracts)  # the demo's two expire together
    builds = 0
    active_state = trust.store.active_state

    async def counting() -> Any:
        nonlocal builds
        builds += 1
        return await active_state()

    trust.store.active_state = counting  # type: ignore[method-assign]
    key = trusted.world.keys[1]
    query = "query($k: ID!) { member(key: $k) { gender } }"

    async def gender_at(when: Any) -> Any:
        trust.clock = lambda: when
        body = await trusted.gql(query, {"k": key}, party="wenjiang")
        return (body["data"]["member"] or {}).get("gender")

    assert await gender_at(start - timedelta(seconds=1)) is None  # not yet in force
    assert await gender_at(start) == "MALE"                       # in force from not_before
    assert await gender_at(end - timedelta(seconds=1)) == "MALE"
    assert await gender_at(end - timedelta(seconds=1)) == "MALE"
    assert builds == 2  # the last two requests were answered by the warm cache
    assert await gender_at(end) is None                           # expired at not_after
    assert builds == 3


async def test_a_submit_by_another_store_is_seen_by_the_next_request(
        make_world: Any, tmp_path: Any) -> None:
    """Another process (its own engine and ContractStore on the same database) activates a
    contract: the next request is decided under it, though the policy was cached."""
    from hub.contracts.demo import build_demo_trust
    from hub.contracts.store import ContractStore
    from hub.contracts.trust import Trust
    from tests.api.trusted import PARTIES

    world = await make_world()
    try:
        demo = build_demo_trust(tmp_path / "trust", PARTIES)
        runtime = world.runtime
        trust = await Trust.open(demo.trust_config(submit=False), runtime.engine,
                                 runtime.session_factory, runtime.registry)
        runtime.enforcement = trust
        t = Trusted(world, demo, trust)
        query = "query($k: ID!) { member(key: $k) { gender } }"
        for _ in range(2):  # the second answer comes from the cached policy
            # no contract declares co-management yet: own data only, under an own-data purpose
            response = await t.post(query, {"k": world.keys[1]},
                                    token=demo.token_for("wenjiang", purpose="own-records"))
            body = response.json()
            assert (body["data"]["member"] or {}).get("gender") is None
        other_engine = create_engine(runtime.engine.url.render_as_string(hide_password=False))
        try:
            other = ContractStore(create_session_factory(other_engine))
            envelope = json.loads(demo.contracts["wenjiang--luxian"].read_text(encoding="utf-8"))
            await other.submit(envelope, demo.registry)
        finally:
            await other_engine.dispose()
        body = await t.gql(query, {"k": world.keys[1]}, party="wenjiang")
        assert body["data"]["member"]["gender"] == "MALE"
        await trust.close()
    finally:
        await world.client.aclose()


async def test_contracts_lists_only_the_callers_contracts(trusted: Trusted) -> None:
    query = (
        "{ contracts { id state parties { party role } signatures { party kid } "
        "registrar { party } } }"
    )
    wenjiang = (await trusted.gql(query, party="wenjiang"))["data"]["contracts"]
    deyang = (await trusted.gql(query, party="deyang"))["data"]["contracts"]
    assert len(wenjiang) == 2 and len(deyang) == 1
    assert {s["party"] for s in deyang[0]["signatures"]} == {"wenjiang", "luxian", "deyang"}
    assert deyang[0]["registrar"] == {"party": "yanxing-hub"}


async def test_contract_member_limit(make_world: Any, tmp_path: Any) -> None:
    from tests.api.trusted import make_trusted

    t = await make_trusted(make_world, tmp_path, n=120)
    try:
        keys = t.world.keys
        query = """query($k: ID!) { members(first: 100) { nodes { name } }
                                   member(key: $k) { name } }"""
        body = await t.gql(query, {"k": keys[110]}, party="luxian")
        assert "LIMIT_EXCEEDED" in _codes(body)  # the multi-party contract: 100 per request
        assert "at most 100" in json.dumps(body, ensure_ascii=False)
    finally:
        await t.trust.close()
        await t.world.client.aclose()


ACCESS_LOG = """query($k: [ID!]!) { accessLog(memberKeys: $k) {
  seq party user purpose decision memberKeys fieldsAllowed fieldsDenied contractDigests } }"""


async def test_access_log_only_for_the_owning_party(trusted: Trusted) -> None:
    keys = trusted.world.keys
    await trusted.gql(PROFILE, {"k": keys[2]}, party="wenjiang")
    own = await trusted.gql(ACCESS_LOG, {"k": [keys[2]]}, party="luxian")
    assert "errors" not in own, own
    entries = [e for e in own["data"]["accessLog"] if e["party"] == "wenjiang"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["memberKeys"] == [keys[2]] and entry["decision"] == "allowed"
    assert entry["purpose"] == "co-management" and entry["user"] == "demo-official"
    assert "Member.name" in entry["fieldsAllowed"] and len(entry["contractDigests"]) == 2
    # keys[-1] is held only by luxian's county database: nobody else may ask about it
    for party in ("wenjiang", "deyang"):
        body = await trusted.gql(ACCESS_LOG, {"k": [keys[-1]]}, party=party)
        assert body["data"] is None and _codes(body) == {"CONTRACT_DENIED"}, body
    # the same refusal for a member that does not exist at all
    ghost = await trusted.gql(ACCESS_LOG, {"k": ["f" * 64]}, party="deyang")
    assert _codes(ghost) == {"CONTRACT_DENIED"}


async def test_audit_records_decisions_without_personal_data(trusted: Trusted) -> None:
    keys = trusted.world.keys
    await trusted.gql(PROFILE, {"k": keys[3]}, party="wenjiang")        # allowed
    await trusted.gql(PROFILE, {"k": keys[3]}, party="deyang")          # denied
    await trusted.gql(CHECK_IN, {"k": keys[3]}, party="luxian")         # denied (mutation)
    async with trusted.world.runtime.session_factory() as s:
        rows = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
    bodies = [json.loads(r.body) for r in rows]
    assert [(b["party"], b["decision"]) for b in bodies] == [
        ("wenjiang", "allowed"), ("deyang", "denied"), ("luxian", "denied")]
    assert bodies[0]["members"] == [keys[3]] and "Member.birthDate" in bodies[0]["allowed"]
    assert "Member.name" in bodies[1]["denied"] and bodies[1]["members"] == []
    assert bodies[2]["denied"] == ["Mutation.recordCheckIn"]
    text = re.sub(r"[0-9a-f]{64}", "<hash>", " ".join(r.body for r in rows))  # keys, digests
    assert not re.search(r"\d{17}[\dX]|1[3-9]\d{9}|张|温江区", text), text


async def test_a_page_audits_and_reads_only_the_members_it_shows(trusted: Trusted) -> None:
    """A page fetches one row more than it shows (to answer hasNextPage): that member is
    neither recorded as touched nor read from any source."""
    county = trusted.world.county
    body = await trusted.gql(
        "{ members(first: 2) { nodes { key name } pageInfo { hasNextPage } } }", party="luxian")
    page = body["data"]["members"]
    shown = [n["key"] for n in page["nodes"]]
    assert len(shown) == 2 and page["pageInfo"]["hasNextPage"] is True
    async with trusted.world.runtime.session_factory() as s:
        last = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq.desc())
                                .limit(1))).one()
    assert json.loads(last.body)["members"] == sorted(shown)
    read = [k for c in county.calls if c.keys for k in c.keys]
    assert len(read) == 2  # the two shown members' county records, not the third


async def test_cached_documents_are_still_checked_per_request_and_caller(
        trusted: Trusted) -> None:
    """Parsing and validation are cached per text; the preflight, limits and audit are not."""
    key = trusted.world.keys[1]
    for _ in range(2):
        for party, refused in (("wenjiang", False), ("deyang", True), ("wenjiang", False)):
            body = await trusted.gql(PROFILE, {"k": key}, party=party)
            assert (body["data"] is None) is refused, (party, body)
            assert ("CONTRACT_DENIED" in _codes(body)) is refused
    deep = "{ " + "members { nodes { destination { organization { " * 3 + "name" + " } } } }" * 3 \
        + " }"  # depth 13 > 10
    for _ in range(2):
        assert _codes(await trusted.gql(deep, party="wenjiang")) == {"LIMIT_EXCEEDED"}
    async with trusted.world.runtime.session_factory() as s:
        rows = (await s.scalars(select(AuditEntryRow))).all()
    assert len(rows) == 8


async def test_organization_contact_phone_masked_unless_own_or_granted(
        trusted: Trusted) -> None:
    query = '{ organization(code: "LX-YS") { name contactPhone } }'
    own = await trusted.gql(query, party="luxian")        # the county's own record
    other = await trusted.gql(query, party="wenjiang")    # no contract grants it
    assert "errors" not in own and "errors" not in other, (own, other)
    assert own["data"]["organization"]["contactPhone"] == "13900001111"
    assert other["data"]["organization"]["contactPhone"] == "139****1111"
    assert other["data"]["organization"]["name"] == own["data"]["organization"]["name"]


def test_contact_phone_grant_lifts_the_mask() -> None:
    from hub.contracts.policy import ContractPolicy
    from hub.policy.base import Caller, Transform

    class _Grant:  # the parts of a contract `transform` reads
        digest, parties, purposes = "d", {"a": None, "b": None}, {"p"}
        read_grants = [type("G", (), {"grantee": "a", "data_of": "b", "fields": {
            "Organization": {"contactPhone": Transform.FULL}}})()]
        read_prohibitions: list[Any] = []

        def in_force(self, now: Any) -> bool:
            return True

        def matches(self, ref: str, party: str) -> bool:
            return ref == party

    caller = Caller(party="a", user="u", purpose="p")
    granted = ContractPolicy([_Grant()])  # type: ignore[list-item]
    assert granted.transform(caller, None, "Organization", "contactPhone", "b") \
        is Transform.FULL
    assert ContractPolicy([]).transform(caller, None, "Organization", "contactPhone", "b") \
        is Transform.MASKED
    assert ContractPolicy([]).transform(caller, None, "Organization", "name", "b") \
        is Transform.FULL


async def test_record_ids_and_activities_need_a_grant_or_the_own_source(
        trusted: Trusted) -> None:
    key = trusted.world.keys[1]
    ids = "query($k: ID!) { member(key: $k) { sources { system localId } } }"
    # deyang (multi-party contract, owns no source): record ids are not granted to it
    refused = await trusted.gql(ids, {"k": key}, party="deyang")
    assert refused["data"] is None and _codes(refused) == {"CONTRACT_DENIED"}
    assert refused["errors"][0]["extensions"]["fields"] == ["SourceRecord.localId"]
    systems = await trusted.gql("query($k: ID!) { member(key: $k) { sources { system } } }",
                                {"k": key}, party="deyang")
    assert "errors" not in systems, systems
    # the two-party contract grants each side the other's record ids; own ids always
    for party in ("wenjiang", "luxian"):
        body = await trusted.gql(ids, {"k": key}, party=party)
        assert "errors" not in body, body
        assert all(s["localId"] for s in body["data"]["member"]["sources"])
    # activities: deyang only by the multi-party grant of the destination's records
    acts = "query($k: ID!) { member(key: $k) { activities { nodes { mode } } } }"
    assert "errors" not in await trusted.gql(acts, {"k": key}, party="deyang")
    assert "errors" not in await trusted.gql(acts, {"k": key}, party="luxian")


def test_member_wide_fields_follow_the_member_owners() -> None:
    from hub.contracts.policy import ContractPolicy
    from hub.policy.base import Caller, SubjectWithOwners, Transform

    subject = SubjectWithOwners(member_key="k" * 64, origin_org_id=None,
                                origin_region_code="510521", destination_region_code="510115",
                                status="in_contact", owners=frozenset({"a"}))
    policy = ContractPolicy([])
    own = Caller(party="a", user="u", purpose="p")
    other = Caller(party="b", user="u", purpose="p")
    assert policy.transform(own, subject, "Member", "activities", None) is Transform.FULL
    assert policy.transform(other, subject, "Member", "activities", None) is Transform.DENY
    assert policy.transform(other, subject, "SourceRecord", "localId", "a") is Transform.DENY
    assert policy.transform(own, subject, "SourceRecord", "localId", "a") is Transform.FULL
    assert policy.transform(other, subject, "SourceRecord", "system", "a") is Transform.FULL
    assert policy.denied_fields(other, {"SourceRecord": {"system", "localId"}}) == {
        "SourceRecord": {"localId"}}
