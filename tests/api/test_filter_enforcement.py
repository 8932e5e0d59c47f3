"""Filters under contracts (issue 3 §4): a filter with `totalCount` reveals the field it tests,
so a filter argument on a field the caller may not see in full is refused before execution
(CONTRACT_DENIED naming the argument and the field), literal or through variables, on every
list field; owners and full grants filter freely; the audit log records the denial.

World (tests/api/trusted.py): luxian (origin, county source) and wenjiang (destination, city
source) under a two-party contract (wenjiang gets name, status, originOrganization in full)
and a multi-party one with deyang (wenjiang gets name in full only; luxian gets status)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, cast

import pytest
from graphql import GraphQLInputObjectType, GraphQLObjectType
from sqlalchemy import select

from hub.api.extensions.analysis import FILTER_ARGUMENTS, FILTER_INPUTS
from hub.api.schema import published_schema
from hub.audit.log import AuditEntryRow
from hub.clock import utcnow
from hub.contracts.demo import two_party_contract
from hub.contracts.keys import load_private_key
from hub.contracts.lifecycle import sign_contract
from tests.api.trusted import PARTIES, Trusted

COUNT = "query($f: MemberFilter) { members(filter: $f) { totalCount } }"


def _denied(body: dict[str, Any]) -> tuple[str, list[str]]:
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "CONTRACT_DENIED", body
    return error["message"], error["extensions"]["fields"]


async def _count(t: Trusted, query: str, variables: dict[str, Any] | None, party: str) -> int:
    body = await t.gql(query, variables, party=party)
    assert "errors" not in body, body
    return int(body["data"]["members"]["totalCount"])


async def _submit_masked_name_contract(t: Trusted) -> None:
    """A second wenjiang—luxian agreement granting the destination names only masked."""
    now = utcnow()
    doc = two_party_contract(PARTIES[0], PARTIES[1], not_before=now - timedelta(days=1),
                             not_after=now + timedelta(days=30))
    doc["id"] = "wenjiang--luxian--names-masked"
    doc["permissions"]["read"][1]["fields"]["Member"]["name"] = "masked"
    signed: dict[str, Any] = doc
    for party in ("wenjiang", "luxian"):
        kid, path = t.demo.party_keys[party]
        signed = sign_contract(signed, load_private_key(path), kid, now=now)
    signed = sign_contract(signed, t.demo.hub_key, t.demo.hub_kid, now=now)
    await t.trust.store.submit(signed, t.trust.registry, now=now)


async def test_name_probe_denied_without_a_full_grant(trusted: Trusted) -> None:
    # full name grants in every contract (and its own city source): the filter works
    assert await _count(trusted, COUNT, {"f": {"name": "张001"}}, "wenjiang") == 1
    await _submit_masked_name_contract(trusted)
    literal = '{ members(filter: {name: "张001"}) { totalCount } }'
    for query, variables in ((literal, None), (COUNT, {"f": {"name": "张001"}}),
                             ("query($n: String) { members(filter: {name: $n}) "
                              "{ totalCount } }", {"n": "张001"}),
                             ('query($f: MemberFilter = {name: "张001"}) '
                              "{ members(filter: $f) { totalCount } }", None)):
        message, fields = _denied(await trusted.gql(query, variables, party="wenjiang"))
        assert "members(filter.name)" in message and "Member.name" in message, message
        assert fields == ["Member.name"]
    # asking for names (masked) without filtering on them is still allowed
    body = await trusted.gql("{ members(first: 2) { totalCount nodes { name } } }",
                             party="wenjiang")
    assert "errors" not in body, body


async def test_status_probe_denied_for_a_destination_without_a_full_grant(
        trusted: Trusted) -> None:
    # the multi-party contract grants wenjiang no status from luxian: any member it brings
    # in could be probed
    for query, variables in (
        ("{ members(filter: {status: RETURNED}) { totalCount } }", None),
        (COUNT, {"f": {"status": "RETURNED"}}),
        ("query($s: MemberStatus) { members(filter: {status: $s}) { totalCount } }",
         {"s": "LOST_CONTACT"}),
        ('{ organization(code: "WJ-YQ") { members(status: RETURNED) { totalCount } } }', None),
    ):
        message, fields = _denied(await trusted.gql(query, variables, party="wenjiang"))
        assert "Member.status" in fields and "status" in message, message
    # a null or empty filter filters nothing and is allowed
    assert await _count(trusted, COUNT, {"f": {"status": None, "name": ""}}, "wenjiang") > 0


async def test_owner_filters_its_own_and_fully_granted_fields(trusted: Trusted) -> None:
    everyone = await _count(trusted, COUNT, None, "luxian")
    returned = await _count(trusted, COUNT, {"f": {"status": "RETURNED"}}, "luxian")
    assert 0 < returned < everyone
    # its own region: decided by the contracts' scope for an origin party, no grant needed
    assert await _count(trusted, COUNT, {"f": {"originRegion": "510521"}}, "luxian") == everyone
    assert await _count(trusted, COUNT, {"f": {"originRegion": "510600"}}, "luxian") == 0
    # wenjiang: its own source, and every contract grants it names in full
    assert await _count(trusted, COUNT, {"f": {"name": "张00"}}, "wenjiang") > 0
    # but luxian gets no names of wenjiang's data: refused, though it owns a source
    message, _ = _denied(await trusted.gql(COUNT, {"f": {"name": "张"}}, party="luxian"))
    assert "members(filter.name) tests Member.name" in message
    # a party owning no source and granted nothing of the kind filters on nothing governed
    _denied(await trusted.gql(COUNT, {"f": {"status": "IN_CONTACT"}}, party="deyang"))
    # ungoverned lists filter freely
    body = await trusted.gql('{ organizations(filter: {kind: ORIGIN_BRANCH}) { totalCount } '
                             'activities(filter: {kind: TRAINING}) { totalCount } }',
                             party="deyang")
    assert "errors" not in body, body


async def test_audit_records_the_refused_filter(trusted: Trusted) -> None:
    await trusted.gql(COUNT, {"f": {"status": "RETURNED", "name": "张001"}}, party="wenjiang")
    async with trusted.world.runtime.session_factory() as s:
        rows = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
    body = json.loads(rows[-1].body)
    assert body["party"] == "wenjiang" and body["decision"] == "denied"
    assert "Member.status" in body["denied"] and body["members"] == []
    assert "张" not in rows[-1].body  # the filter's value is never logged


def _input_types() -> dict[str, GraphQLInputObjectType]:
    schema = published_schema()._schema
    return {name: t for name, t in schema.type_map.items()
            if isinstance(t, GraphQLInputObjectType)}


@pytest.mark.parametrize("input_name", sorted(FILTER_INPUTS))
def test_every_filter_field_is_mapped_to_a_schema_field(input_name: str) -> None:
    schema = published_schema()._schema
    input_type = _input_types()[input_name]
    assert set(FILTER_INPUTS[input_name]) == set(input_type.fields)
    for type_name, field_name, _ in FILTER_INPUTS[input_name].values():
        assert field_name in cast(GraphQLObjectType, schema.type_map[type_name]).fields


def test_every_filter_input_of_the_schema_is_known() -> None:
    used = set()
    schema = published_schema()._schema
    for type_ in schema.type_map.values():
        if type_.name == "Mutation":
            continue  # a mutation's input (TaskInput, startReconciliation's) is what it does
        for name, f in getattr(type_, "fields", {}).items():
            for arg_name, arg in getattr(f, "args", {}).items():
                named = arg.type
                while hasattr(named, "of_type"):
                    named = named.of_type
                if isinstance(named, GraphQLInputObjectType):
                    used.add(named.name)
                elif arg_name not in ("first", "after", "last", "before") and \
                        "Connection" in str(f.type):
                    assert (type_.name, name, arg_name) in FILTER_ARGUMENTS
    assert used <= set(FILTER_INPUTS)
