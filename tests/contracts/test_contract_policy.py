"""ContractPolicy: own data, grants with transforms, scope, purpose, prohibitions, records."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import pytest
from contract_world import CONTRACT, NOW, SignAll, World
from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from hub.contracts.lifecycle import make_revocation
from hub.contracts.model import Contract, parse_contract
from hub.contracts.policy import ContractPolicy, SubjectWithOwners
from hub.contracts.store import ContractStore
from hub.policy.base import Caller, Policy, Subject, Transform
from hub.store.models import MemberRow, SourceLinkRow
from hub.store.session import create_engine, create_session_factory, init_db

XUZHOU = Caller(party="xuzhou", user="u1", purpose="co-management")      # origin 流出地
WENJIANG = Caller(party="wenjiang", user="u2", purpose="co-management")  # destination 流入地
SICHUAN = Caller(party="sichuan", user="u3", purpose="co-management")    # not a party
BOTH = frozenset({"xuzhou", "wenjiang"})
INSIDE = SubjectWithOwners("k-in", None, "511504", "510115", "in_contact", owners=BOTH)
OUTSIDE = SubjectWithOwners("k-out", None, "511502", "510115", "in_contact", owners=BOTH)


def _contract(mutate: Any = None) -> Contract:
    doc = copy.deepcopy(CONTRACT)
    if mutate:
        mutate(doc)
    return parse_contract(doc)


def _policy(*contracts: Contract, **kwargs: Any) -> ContractPolicy:
    return ContractPolicy(contracts or (_contract(),), now=NOW, **kwargs)


def test_is_a_policy() -> None:
    assert isinstance(_policy(), Policy)


def test_own_sources_full_but_id_number_masked() -> None:
    p = _policy()
    assert p.transform(XUZHOU, OUTSIDE, "Member", "employer", "xuzhou") is Transform.FULL
    assert p.transform(XUZHOU, OUTSIDE, "Member", "idNumber", "xuzhou") is Transform.MASKED


def test_contract_can_grant_own_id_number_in_full() -> None:
    c = _contract(lambda d: d["permissions"]["read"].append(
        {"grantee": "origin", "data_of": "origin", "fields": {"Member": {"idNumber": "full"}}}))
    p = _policy(c)
    assert p.transform(XUZHOU, INSIDE, "Member", "idNumber", "xuzhou") is Transform.FULL


@pytest.mark.parametrize(
    ("caller", "field", "owner", "expected"),
    [
        (XUZHOU, "employer", "wenjiang", Transform.FULL),
        (XUZHOU, "birthDate", "wenjiang", Transform.YEAR),
        (XUZHOU, "destinationAddress", "wenjiang", Transform.MASKED),
        (XUZHOU, "phone", "wenjiang", Transform.DENY),  # not granted to origin
        (WENJIANG, "idNumber", "xuzhou", Transform.MASKED),
        (WENJIANG, "phone", "xuzhou", Transform.HASHED),
        (WENJIANG, "employer", "xuzhou", Transform.DENY),  # granted only of destination data
        (WENJIANG, "willingVillageCadre", "xuzhou", Transform.DENY),
        (SICHUAN, "employer", "wenjiang", Transform.DENY),  # not a party
        (XUZHOU, "employer", "sichuan", Transform.DENY),  # owner not party of the contract
        (XUZHOU, "employer", None, Transform.DENY),  # unknown owner: only data_of-free grants
    ],
)
def test_grants_per_party_with_transform(caller: Caller, field: str, owner: str | None,
                                         expected: Transform) -> None:
    assert _policy().transform(caller, INSIDE, "Member", field, owner) is expected


def test_member_outside_scope() -> None:
    p = _policy()
    assert p.transform(XUZHOU, OUTSIDE, "Member", "employer", "wenjiang") is Transform.DENY
    assert p.transform(XUZHOU, None, "Member", "employer", "wenjiang") is Transform.DENY
    foreign = SubjectWithOwners("k", None, "511502", "510115", "in_contact",
                                owners=frozenset({"wenjiang"}))
    assert not p.can_see(XUZHOU, foreign)
    assert p.can_see(WENJIANG, foreign)  # its own source's member
    assert p.can_see(XUZHOU, INSIDE)
    assert not p.can_see(SICHUAN, INSIDE)
    assert not p.can_see(Caller(party=None), INSIDE)
    # a plain Subject is judged by scope alone
    assert p.can_see(XUZHOU, Subject("k", None, "511504", "510115", "in_contact"))
    assert not p.can_see(XUZHOU, Subject("k", None, "511502", "510115", "in_contact"))


def test_scope_needs_a_party_owning_the_member() -> None:
    only_sichuan = SubjectWithOwners("k", None, "511504", "510115", None,
                                     owners=frozenset({"sichuan"}))
    assert not _policy().can_see(XUZHOU, only_sichuan)


def test_purpose_must_be_allowed() -> None:
    other = Caller(party="xuzhou", user="u1", purpose="marketing")
    p = _policy()
    assert p.transform(other, INSIDE, "Member", "employer", "wenjiang") is Transform.DENY
    assert p.transform(other, INSIDE, "Member", "employer", "xuzhou") is Transform.FULL


def test_prohibition_wins_over_permission_even_across_contracts() -> None:
    c = _contract(lambda d: d["permissions"]["read"][1]["fields"]["Member"].update(
        willingVillageCadre="full"))
    assert _policy(c).transform(WENJIANG, INSIDE, "Member", "willingVillageCadre",
                                "xuzhou") is Transform.DENY
    generous = _contract(lambda d: d.update(id="generous", prohibitions={}) or
                         d["permissions"]["read"][0]["fields"]["Member"].update(phone="full"))
    strict = _contract(lambda d: d.update(id="strict", prohibitions={"read": [
        {"grantee": "origin", "fields": {"Member": ["phone"]}}]}))
    assert _policy(generous).transform(XUZHOU, INSIDE, "Member", "phone",
                                       "wenjiang") is Transform.FULL
    assert _policy(generous, strict).transform(XUZHOU, INSIDE, "Member", "phone",
                                               "wenjiang") is Transform.DENY


def test_most_permissive_transform_across_contracts() -> None:
    wider = _contract(lambda d: d.update(id="wider") or d["permissions"]["read"][0]["fields"][
        "Member"].update(destinationAddress="full", birthDate="masked"))
    p = _policy(_contract(), wider)
    assert p.transform(XUZHOU, INSIDE, "Member", "destinationAddress", "wenjiang") is \
        Transform.FULL
    assert p.transform(XUZHOU, INSIDE, "Member", "birthDate", "wenjiang") is Transform.YEAR


def test_denied_fields_before_execution() -> None:
    p = _policy(supplied_fields={"xuzhou": {"Member": {"name", "idNumber", "phone"}},
                                 "wenjiang": {"Member": {"employer", "phone"}}})
    requested = {"Member": {"key", "employer", "phone", "name", "willingVillageCadre"},
                 "MemberConnection": {"edges", "totalCount"}}
    assert p.denied_fields(XUZHOU, requested) == {"Member": {"willingVillageCadre"}}
    assert p.denied_fields(WENJIANG, requested) == {"Member": {"willingVillageCadre"}}
    assert p.denied_fields(SICHUAN, requested) == {
        "Member": {"employer", "phone", "name", "willingVillageCadre"}}
    assert p.denied_fields(Caller(party=None), {"Member": {"key"}}) == {}


def test_expired_contract_grants_nothing() -> None:
    p = ContractPolicy([_contract()], now=_contract().not_after)
    assert p.transform(XUZHOU, INSIDE, "Member", "employer", "wenjiang") is Transform.DENY


def test_can_record() -> None:
    c = _contract(lambda d: d.setdefault("prohibitions", {}).update(
        record={"reconciliation": ["wenjiang"]}))
    p = _policy(c)
    assert p.can_record(WENJIANG, INSIDE, "checkin")
    assert not p.can_record(XUZHOU, INSIDE, "checkin")       # mutation without permission
    assert p.can_record(XUZHOU, INSIDE, "task_publish")
    assert not p.can_record(WENJIANG, OUTSIDE, "checkin")    # outside scope
    assert not p.can_record(WENJIANG, INSIDE, "transfer")    # nobody may
    assert p.can_record(XUZHOU, INSIDE, "reconciliation")
    assert not p.can_record(WENJIANG, INSIDE, "reconciliation")  # prohibition wins
    with pytest.raises(ValueError):
        p.can_record(WENJIANG, INSIDE, "vote")


def test_limits_and_digests() -> None:
    p = _policy()
    assert p.max_members_per_request(XUZHOU) == 200
    assert p.max_members_per_request(SICHUAN) is None
    assert p.contract_digests(XUZHOU, INSIDE) == [_contract().digest]
    assert p.contract_digests(XUZHOU, OUTSIDE) == []


async def test_revocation_denies_the_next_request(db_url: str, world: World,
                                                  contract_doc: dict[str, Any],
                                                  sign_all: SignAll) -> None:
    engine = create_engine(db_url)
    try:
        await init_db(engine)
        store = ContractStore(create_session_factory(engine))
        record = await store.submit(sign_all(contract_doc), world.registry, now=NOW)
        before = await ContractPolicy.from_store(store, now=NOW)
        assert before.transform(XUZHOU, INSIDE, "Member", "employer", "wenjiang") is \
            Transform.FULL
        later = NOW + timedelta(seconds=1)
        await store.revoke(make_revocation(record.contract, "终止", world.keys["wj-1"], "wj-1",
                                           now=later), world.registry, now=later)
        after = await ContractPolicy.from_store(store, now=later)
        assert after.transform(XUZHOU, INSIDE, "Member", "employer", "wenjiang") is \
            Transform.DENY
    finally:
        await engine.dispose()


@pytest.fixture
async def index(db_url: str) -> AsyncIterator[Any]:
    engine = create_engine(db_url)
    await init_db(engine)
    sessions = create_session_factory(engine)
    rows = [
        ("in-scope", "511504", "510115", "in_contact", "chengdu"),
        ("wrong-origin", "511502", "510115", "in_contact", "chengdu"),
        ("own-only", "511502", "330102", "returned", "county"),
        ("wrong-dest", "511504", "330102", "in_contact", "zhejiang"),
    ]
    async with sessions.begin() as s:
        for key, origin, dest, status, source in rows:
            s.add(MemberRow(key=key, origin_region_code=origin, destination_region_code=dest,
                            status=status, indexed_at=NOW))
            await s.flush()
            s.add(SourceLinkRow(source=source, local_id=key, member_key=key, fields=[],
                                routing={}, content_hash="x", fetched_at=NOW))
    yield sessions
    await engine.dispose()


async def test_scope_filter_in_sql_matches_can_see(index: Any) -> None:
    p = _policy(sources_of={"xuzhou": {"county"}, "wenjiang": {"chengdu"}})
    async with index() as s:
        async def keys(caller: Caller) -> set[str]:
            cond = p.scope_filter(caller)
            # every caller here has contracts, so its scope is a SQL condition
            where = cast(ColumnElement[bool], cond)
            return set((await s.scalars(select(MemberRow.key).where(where))).all())

        assert await keys(XUZHOU) == {"in-scope", "own-only"}
        assert await keys(WENJIANG) == {"in-scope", "wrong-origin"}
        assert await keys(SICHUAN) == set()
        assert await keys(Caller(party=None)) == set()
