"""Every kind of request leaves exactly one audit entry, through real HTTP: allowed, denied by
contract, rejected before it ran (syntax, validation, variables, limits, a bad body) and
rejected tokens, which are rate-limited per client network."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.audit.log import AuditEntry, AuditEntryRow
from hub.contracts.keys import load_private_key
from hub.contracts.tokens import mint_token
from tests.api.trusted import Trusted


async def entries(t: Trusted) -> list[AuditEntry]:
    await t.trust.audit_log.drain()
    async with t.world.runtime.session_factory() as s:
        rows = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
    return [AuditEntry.from_row(r) for r in rows]


async def new_entries(t: Trusted, send: Any) -> list[AuditEntry]:
    before = len(await entries(t))
    response = await send()
    assert response.status_code < 500, response.text
    return (await entries(t))[before:]


def token_of(t: Trusted, party: str, *, user: str = "official-7",
             purpose: str = "co-management") -> str:
    kid, path = t.demo.party_keys[party]
    return mint_token(party, user, purpose, load_private_key(path), kid, t.demo.hub_id, 300)


MEMBERS = "{ members(first: 2) { nodes { name } } }"

#: (name, request) -> (decision, reason) of the one entry it must leave
KINDS: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("allowed", {"query": MEMBERS}, "allowed", None),
    ("syntax error", {"query": "{ members { nodes { name }"}, "rejected",
     "graphql_parse_failed"),
    ("validation error", {"query": "{ noSuchField }"}, "rejected", "graphql_validation_failed"),
    ("bad variable", {"query": "query Q($n: Int) { members(first: $n) { totalCount } }",
                      "variables": {"n": "many"}}, "rejected", None),
    ("too deep", {"query": "{ members { nodes { activities { nodes { activity { attendees { "
                           "member { activities { nodes { activity { attendees { member { "
                           "activities { nodes { activity { title } } } } } } } } } } } } } } "
                           "} }"}, "rejected",
     "limit_exceeded"),
]


@pytest.mark.parametrize(("name", "body", "decision", "reason"), KINDS,
                         ids=[k[0] for k in KINDS])
async def test_each_operation_leaves_one_entry(trusted: Trusted, name: str,
                                               body: dict[str, Any], decision: str,
                                               reason: str | None) -> None:
    headers = {"Authorization": f"Bearer {trusted.demo.token_for('wenjiang')}"}
    new = await new_entries(trusted, lambda: trusted.world.client.post(
        "/graphql", json=body, headers=headers))
    assert [e.decision.value for e in new] == [decision], name
    if reason is not None:
        assert new[0].reason == reason
    assert new[0].party == "wenjiang"


async def test_a_contract_denial_leaves_one_denied_entry(trusted: Trusted) -> None:
    new = await new_entries(trusted, lambda: trusted.post(
        "{ members(first: 1) { nodes { idNumber } } }", party="deyang"))
    assert [e.decision.value for e in new] == ["denied"]


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "unauthenticated:missing"),
    ({"Authorization": "Basic abc"}, "unauthenticated:malformed"),
    ({"Authorization": "Bearer not.a.token"}, "unauthenticated:malformed"),
], ids=["missing", "not bearer", "garbage"])
async def test_a_rejected_token_leaves_one_entry_without_the_token(
        trusted: Trusted, headers: dict[str, str], reason: str) -> None:
    new = await new_entries(trusted, lambda: trusted.world.client.post(
        "/graphql", json={"query": MEMBERS}, headers=headers))
    assert len(new) == 1
    entry = new[0]
    assert (entry.decision.value, entry.reason, entry.party, entry.user) == (
        "rejected", reason, None, None)
    assert entry.source is not None  # the client's network, never the token
    async with trusted.world.runtime.session_factory() as s:
        body = (await s.scalars(select(AuditEntryRow.body).order_by(
            AuditEntryRow.seq.desc()).limit(1))).one()
    assert "not.a.token" not in body and "Basic" not in body


async def test_a_replayed_token_leaves_one_rejected_entry(trusted: Trusted) -> None:
    token = trusted.demo.token_for("wenjiang")
    assert (await trusted.post(MEMBERS, token=token)).status_code == 200
    new = await new_entries(trusted, lambda: trusted.post(MEMBERS, token=token))
    assert [(e.decision.value, e.reason) for e in new] == [("rejected",
                                                            "unauthenticated:replayed")]


@pytest.mark.parametrize(("content", "content_type", "reason"), [
    (b"{not json", "application/json", "bad_request"),
    (b"[1, 2]", "application/json", "bad_request"),
    (b"query=x", "application/x-www-form-urlencoded", "bad_request"),
], ids=["not json", "batch", "form"])
async def test_a_malformed_request_leaves_one_rejected_entry(
        trusted: Trusted, content: bytes, content_type: str, reason: str) -> None:
    new = await new_entries(trusted, lambda: trusted.world.client.post(
        "/graphql", content=content, headers={"content-type": content_type}))
    assert [(e.decision.value, e.reason) for e in new] == [("rejected", reason)]


@pytest.mark.parametrize("user", ["张三", "13812345678", "u510521199001011234",
                                  "zhang san", "a@b.cn"])
async def test_a_token_with_personal_data_as_user_is_refused(trusted: Trusted,
                                                             user: str) -> None:
    response = await trusted.post(MEMBERS, token=token_of(trusted, "wenjiang", user=user))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["reason"] == "personal_data"
    last = (await entries(trusted))[-1]
    assert last.reason == "unauthenticated:personal_data" and last.user is None
    assert user not in json.dumps([e.user for e in await entries(trusted)])


@pytest.mark.parametrize("purpose", ["co-management 13812345678", "联系", "case-5105211990"])
async def test_a_token_with_personal_data_as_purpose_is_refused(trusted: Trusted,
                                                                purpose: str) -> None:
    response = await trusted.post(MEMBERS, token=token_of(trusted, "wenjiang",
                                                          purpose=purpose))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["reason"] == "personal_data"
    assert "purpose" in response.json()["errors"][0]["message"]


async def test_a_token_flood_is_rate_limited_per_network(trusted: Trusted) -> None:
    """30 bad tokens from one address: 10 entries (the per-minute share), then, with the next
    minute's first rejection, one summary '20 more suppressed', then that rejection."""
    limiter = trusted.trust.rejections
    assert limiter.per_source == 10
    before = len(await entries(trusted))
    for _ in range(30):
        response = await trusted.post(MEMBERS, token="garbage")
        assert response.status_code == 401
    flood = (await entries(trusted))[before:]
    assert len(flood) == 10 and {e.reason for e in flood} == {"unauthenticated:malformed"}
    now = trusted.trust.clock()
    trusted.trust.clock = lambda: now + timedelta(seconds=61)
    later = await new_entries(trusted, lambda: trusted.post(MEMBERS, token="garbage"))
    assert [(e.reason, e.suppressed) for e in later] == [
        ("suppressed", 20), ("unauthenticated:malformed", None)]
    assert later[0].source == flood[0].source


async def test_other_networks_are_not_silenced_by_a_flood(trusted: Trusted) -> None:
    for _ in range(12):
        await trusted.post(MEMBERS, token="garbage")
    app = trusted.world.client._transport.app  # type: ignore[attr-defined]
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.9", 1)),
                              base_url="http://hub")
    async with other:
        new = await new_entries(trusted, lambda: other.post(
            "/graphql", json={"query": MEMBERS}, headers={"Authorization": "Bearer x"}))
    assert [e.source for e in new] == ["198.51.100.0/24"]



async def test_a_mutation_over_get_leaves_one_rejected_entry(trusted: Trusted) -> None:
    headers = {"Authorization": f"Bearer {trusted.demo.token_for('wenjiang')}"}
    query = 'mutation { recordCheckIn(memberKey: "k", organization: "WJ-YQ") { id } }'
    new = await new_entries(trusted, lambda: trusted.world.client.get(
        "/graphql", params={"query": query}, headers=headers))
    assert [(e.decision.value, e.reason, e.party) for e in new] == [
        ("rejected", "bad_request:operation_type", "wenjiang")]
