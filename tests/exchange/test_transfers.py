"""组织关系转接 over real HTTP with the parties' tokens: 泸县 (origin of 涌水村党支部 LX-YS)
approves and completes, 温江 (holds 涌泉街道 WJ-YQ) accepts; either may ask; 德阳 sees none."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from hub.contracts.keys import load_private_key
from hub.contracts.lifecycle import make_revocation
from hub.contracts.model import parse_contract
from hub.federation.identity import member_key
from hub.jws import parse_general
from hub.store.models import MemberRow, SourceLinkRow
from tests.api.conftest import id_number
from tests.api.trusted import Trusted
from tests.exchange.conftest import ledger_rows

T = """fragment T on MembershipTransfer { number state final memberKey originParty
  receivingParty branchParty requesterParty reason lastEntry
  fromOrganization { code } toOrganization { code } member { key } }"""
REQUEST = T + """
mutation($k: ID!, $o: ID!, $to: ID!, $r: String, $key: String) {
  requestMembershipTransfer(memberKey: $k, organization: $o, toOrganization: $to, reason: $r,
                            idempotencyKey: $key) {
    replayed entry { number action party organizations } transfer { ...T } member { key } } }"""
STEPS = {name: T + f"""
mutation($n: Int!, $note: String, $key: String) {{
  {name}MembershipTransfer(transfer: $n, note: $note, idempotencyKey: $key) {{
    replayed entry {{ number action answers party organizations }} transfer {{ ...T }}
    member {{ key originOrganization {{ code }} }} }} }}"""
         for name in ("approve", "accept", "complete", "reject", "withdraw")}
LIST = T + """
query($f: TransferFilter, $first: Int, $last: Int) {
  membershipTransfers(filter: $f, first: $first, last: $last) { totalCount nodes { ...T } } }"""
DUE = """query($s: DueStepKind!, $d: Date, $first: Int) {
  membersDueForStep(step: $s, asOf: $d, first: $first) {
    totalCount nodes { step awaySince member { key } } } }"""
MEMBER = "query($k: ID!) { member(key: $k) { key } }"


def codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors", [])}


async def request(t: Trusted, party: str = "luxian", *, member: int = 0, org: str = "LX-YS",
                  to: str = "WJ-YQ", reason: str | None = "长期在温江工作，愿转则转",
                  key: str | None = None, member_key_: str | None = None) -> dict[str, Any]:
    return await t.gql(REQUEST, {"k": member_key_ or t.world.keys[member], "o": org, "to": to,
                                 "r": reason, "key": key}, party=party)


async def step(t: Trusted, name: str, party: str, number: int, *,
               key: str | None = None) -> dict[str, Any]:
    return await t.gql(STEPS[name], {"n": number, "key": key}, party=party)


def data(body: dict[str, Any], field: str) -> Any:
    assert "errors" not in body, body
    return body["data"][field]


async def requested(t: Trusted, **kwargs: Any) -> int:
    return int(data(await request(t, **kwargs), "requestMembershipTransfer")["transfer"]
               ["number"])


async def add_city_only_member(t: Trusted) -> str:
    """A member 温江 knows from its own system only, whose membership is at 泸县's 涌水村: 泸县
    sees them only through the contract scoped on its region."""
    key = member_key(b"yanxing-test-secret-0123456789abcdef", id_number(900))
    now = datetime.now(UTC)
    async with t.world.runtime.session_factory() as session:
        session.add(MemberRow(key=key, name="王九百", status="in_contact", origin_org_id="LX-YS",
                              origin_region_code="510521", destination_region_code="510115",
                              destination_org_id="WJ-YQ", updated_at=now, indexed_at=now))
        session.add(SourceLinkRow(source="city", local_id="d900", member_key=key, fields=[],
                                  routing={}, content_hash="x", fetched_at=now,
                                  side="destination"))
        await session.commit()
    return key


async def test_the_allowed_path_moves_the_member_and_narrows_the_old_scope(
        served: Trusted) -> None:
    t = served
    key = await add_city_only_member(t)
    assert data(await t.gql(MEMBER, {"k": key}, party="luxian"), "member") == {"key": key}
    body = await request(t, "wenjiang", org="WJ-YQ", member_key_=key)
    receipt = data(body, "requestMembershipTransfer")
    transfer = receipt["transfer"]
    assert receipt["entry"]["action"] == "transfer_request"
    assert receipt["entry"]["organizations"] == ["WJ-YQ", "WJ-YQ"]
    assert (transfer["state"], transfer["originParty"], transfer["receivingParty"],
            transfer["branchParty"], transfer["requesterParty"]) == \
        ("REQUESTED", "luxian", "wenjiang", "wenjiang", "wenjiang")
    number = transfer["number"]
    assert data(await step(t, "approve", "luxian", number),
                "approveMembershipTransfer")["transfer"]["state"] == "APPROVED"
    assert data(await step(t, "accept", "wenjiang", number),
                "acceptMembershipTransfer")["transfer"]["state"] == "ACCEPTED"
    done = data(await step(t, "complete", "luxian", number), "completeMembershipTransfer")
    assert done["transfer"] is None or done["transfer"]["state"] == "COMPLETED"
    assert done["entry"]["answers"] == number
    # the index moved the membership; the contract scoped on 泸县's region no longer covers
    # the member, so 泸县 (which saw them only through it) loses them; 温江 keeps its own
    async with t.world.runtime.session_factory() as session:
        row = await session.get(MemberRow, key)
        assert row is not None and (row.origin_org_id, row.origin_region_code) == \
            ("WJ-YQ", "510115")
    assert data(await t.gql(MEMBER, {"k": key}, party="luxian"), "member") is None
    assert done["member"] is None  # the receipt does not show 泸县 a member it lost
    mine = data(await t.gql(MEMBER, {"k": key}, party="wenjiang"), "member")
    assert mine == {"key": key}
    listed = data(await t.gql(LIST, {}, party="wenjiang"), "membershipTransfers")
    assert [(n["number"], n["state"], n["final"]) for n in listed["nodes"]] == \
        [(number, "COMPLETED", True)]
    assert data(await t.gql(LIST, {}, party="luxian"), "membershipTransfers")["nodes"] == []
    assert [r.action for r in await ledger_rows(t)] == [
        "transfer_request", "transfer_approval", "transfer_acceptance", "transfer_completion"]


async def test_each_step_only_by_its_party_and_terminal_states_are_final(
        served: Trusted) -> None:
    t = served
    number = await requested(t)  # by 泸县, the origin
    before = len(await ledger_rows(t))
    assert codes(await step(t, "approve", "wenjiang", number)) == {"WRONG_PARTY"}
    assert codes(await step(t, "accept", "luxian", number)) == {"WRONG_PARTY"}
    assert codes(await step(t, "withdraw", "wenjiang", number)) == {"WRONG_PARTY"}
    assert codes(await step(t, "accept", "wenjiang", number)) == {"STATE_CONFLICT"}
    assert codes(await step(t, "complete", "luxian", number)) == {"STATE_CONFLICT"}
    assert codes(await step(t, "approve", "deyang", number)) == {"NOT_FOUND"}
    assert len(await ledger_rows(t)) == before
    withdrawn = data(await step(t, "withdraw", "luxian", number), "withdrawMembershipTransfer")
    assert withdrawn["transfer"]["state"] == "WITHDRAWN" and withdrawn["transfer"]["final"]
    for name, party in (("approve", "luxian"), ("reject", "luxian"), ("withdraw", "luxian"),
                        ("accept", "wenjiang")):
        assert codes(await step(t, name, party, number)) in ({"STATE_CONFLICT"},
                                                             {"WRONG_PARTY"})
    assert codes(await step(t, "approve", "luxian", number)) == {"STATE_CONFLICT"}
    # a final transfer frees the member for a new request; the receiving side may refuse
    again = await requested(t)
    data(await step(t, "approve", "luxian", again), "approveMembershipTransfer")
    rejected = data(await step(t, "reject", "wenjiang", again), "rejectMembershipTransfer")
    assert rejected["transfer"]["state"] == "REJECTED"


async def test_one_open_transfer_per_member_and_bad_input(served: Trusted) -> None:
    t = served
    await requested(t)
    assert codes(await request(t, "wenjiang", org="WJ-YQ")) == {"STATE_CONFLICT"}
    assert codes(await request(t, member=1, to="NO-SUCH")) == {"NOT_FOUND"}
    assert codes(await request(t, member=1, to="LX-YS")) == {"BAD_USER_INPUT"}
    assert codes(await request(t, member=1, reason="很" * 1001)) == {"BAD_USER_INPUT"}
    assert codes(await request(t, member=1, to="a%b")) == {"BAD_USER_INPUT"}
    assert codes(await request(t, "deyang", member=1, org="WJ-YQ")) == {"NOT_FOUND"}
    assert codes(await request(t, "wenjiang", member=1, org="LX-YS")) == {"CONTRACT_DENIED"}
    assert [r.action for r in await ledger_rows(t)] == ["transfer_request"]


async def test_idempotent_retries_and_concurrent_steps(served: Trusted) -> None:
    t = served
    first = await request(t, key="tr-1")
    retry = await request(t, key="tr-1")
    assert data(retry, "requestMembershipTransfer")["replayed"] is True
    assert codes(await request(t, key="tr-1", reason="别的理由")) == {"IDEMPOTENCY_CONFLICT"}
    number = data(first, "requestMembershipTransfer")["transfer"]["number"]
    approvals = await asyncio.gather(*(step(t, "approve", "luxian", number, key=f"a{i}")
                                       for i in range(4)))
    assert sum("errors" not in b for b in approvals) == 1
    assert all(codes(b) == {"STATE_CONFLICT"} for b in approvals if "errors" in b)
    same = await asyncio.gather(*(step(t, "accept", "wenjiang", number, key="acc")
                                  for _ in range(3)))
    assert sorted(data(b, "acceptMembershipTransfer")["replayed"] for b in same) == \
        [False, True, True]
    # a retry after the state moved on answers the stored entry, not a conflict
    replay = await step(t, "approve", "luxian", number,
                        key=next(f"a{i}" for i, b in enumerate(approvals) if "errors" not in b))
    assert data(replay, "approveMembershipTransfer")["replayed"] is True
    assert [r.action for r in await ledger_rows(t)] == [
        "transfer_request", "transfer_approval", "transfer_acceptance"]


async def test_without_the_permission_it_is_contract_denied(served: Trusted) -> None:
    t = served
    envelope = json.loads(t.demo.contracts["wenjiang--luxian"].read_text(encoding="utf-8"))
    kid, path = t.demo.party_keys["wenjiang"]
    revocation = make_revocation(parse_contract(parse_general(envelope).payload), "test",
                                 load_private_key(path), kid)
    await t.trust.store.revoke(revocation, t.trust.registry)
    body = await request(t)
    assert codes(body) == {"CONTRACT_DENIED"} and "transfer" in body["errors"][0]["message"]
    assert await ledger_rows(t) == []


async def test_members_due_for_a_step(served: Trusted) -> None:
    t = served
    # members 0-2 attended an activity on 2025-06-01 at 温江: the earliest evidence
    async with t.world.runtime.session_factory() as session:
        await session.execute(update(MemberRow).where(MemberRow.key == t.world.keys[1])
                              .values(destination_org_id=None))
        await session.commit()
    attach = data(await t.gql(DUE, {"s": "ATTACH_DESTINATION_BRANCH", "d": "2025-09-01"},
                              party="luxian"), "membersDueForStep")
    assert [n["member"]["key"] for n in attach["nodes"]] == [t.world.keys[1]]
    assert attach["nodes"][0]["awaySince"].startswith("2025-06-01")
    early = data(await t.gql(DUE, {"s": "ATTACH_DESTINATION_BRANCH", "d": "2025-08-31"},
                             party="luxian"), "membersDueForStep")
    assert early["totalCount"] == 0
    floating = data(await t.gql(DUE, {"s": "FLOATING_BRANCH", "d": "2025-12-01"},
                                party="wenjiang"), "membersDueForStep")
    assert floating["totalCount"] == 3
    assert sorted(n["member"]["key"] for n in floating["nodes"]) == sorted(t.world.keys[:3])
    await requested(t)  # a transfer under way: no longer due for the floating branch
    after = data(await t.gql(DUE, {"s": "FLOATING_BRANCH", "d": "2025-12-01"},
                             party="wenjiang"), "membersDueForStep")
    assert sorted(n["member"]["key"] for n in after["nodes"]) == sorted(t.world.keys[1:3])
    nobody = data(await t.gql(DUE, {"s": "FLOATING_BRANCH", "d": "2026-12-01"},
                              party="deyang"), "membersDueForStep")
    assert nobody["totalCount"] == 0
    async with t.world.runtime.session_factory() as session:
        assert (await session.execute(select(MemberRow.key))).all()  # nothing was written
