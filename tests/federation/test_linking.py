"""Candidate matching and confirmation on a real index built by a real sync."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.mock import MockConnector
from hub.errors import NotFound, RequestError
from hub.federation.identity import member_key
from hub.federation.linking import Candidate, candidate_matches, confirm_match
from hub.federation.sync import SyncTarget, sync_all
from hub.model import Side
from hub.store.models import MemberRow, SourceLinkRow

pytestmark = pytest.mark.store

Factory = async_sessionmaker[AsyncSession]
ID_A = "11010519491231002X"  # the GB 11643 standard's example
ID_B = "510521199001010017"


def linked(
    local_id: str, id_number: str, name: str, birth: str, phone: str | None
) -> dict[str, Any]:
    return {"local_id": local_id, "id_number": id_number, "name": name, "birth_date": birth,
            "phone": phone, "status": "in_contact", "origin_org_id": "ORG-1"}


@pytest.fixture
async def indexed(session_factory: Factory, secret: bytes) -> MockConnector:
    origin = MockConnector("county", {"member": [
        linked("c1", ID_A, "张三", "1949-12-31", "13800000001"),
        linked("c2", ID_B, "李四", "1990-01-01", "13800000002"),
    ]})
    village = MockConnector("village", {"member": [
        # no ID; name + birth + phone agree with 张三
        {"local_id": "v1", "name": "张三", "birth_date": "1949-12-31", "phone": "+86 138-0000-0001",
         "destination_region_code": "440300"},
        # no ID; name + birth agree with 李四, phone differs
        {"local_id": "v2", "name": "李四", "birth_date": "1990-01-01", "phone": "13999999999"},
        # no ID and nobody like them
        {"local_id": "v3", "name": "王五", "birth_date": "1980-05-05"},
        # same name as 张三 but another birth date: not a candidate
        {"local_id": "v4", "name": "张三", "birth_date": "1950-01-01"},
    ]})
    sums = await sync_all(
        session_factory, [SyncTarget(origin, Side.ORIGIN), SyncTarget(village, Side.DESTINATION)],
        secret=secret,
    )
    assert [s.unlinked for s in sums] == [0, 4]
    return village


async def test_candidates_are_scored_with_reasons(
    indexed: MockConnector, session_factory: Factory, secret: bytes
) -> None:
    async with session_factory() as session:
        found = await candidate_matches(session, limit=10)
    assert [(c.local_id, c.member_key, c.score, c.reasons) for c in found] == [
        ("v1", member_key(secret, ID_A), 1.0, ("name", "birth_date", "phone")),
        ("v2", member_key(secret, ID_B), 0.8, ("name", "birth_date")),
    ]
    assert all(isinstance(c, Candidate) and c.source == "village" for c in found)


async def test_candidates_page_with_after(indexed: MockConnector, session_factory: Factory) -> None:
    async with session_factory() as session:
        first = await candidate_matches(session, limit=1)
        second = await candidate_matches(session, limit=1, after=first[0].cursor)
        third = await candidate_matches(session, limit=1, after=second[0].cursor)
    assert [c.local_id for c in first + second] == ["v1", "v2"] and third == []


@pytest.mark.parametrize("bad", ["", "x", "12", ":abc", "abc:def"])
async def test_bad_cursor_is_a_request_error(
    indexed: MockConnector, session_factory: Factory, bad: str
) -> None:
    async with session_factory() as session:
        with pytest.raises(RequestError):
            await candidate_matches(session, limit=5, after=bad)


async def test_confirm_links_recomputes_and_survives_resync(
    indexed: MockConnector, session_factory: Factory, secret: bytes
) -> None:
    key = member_key(secret, ID_A)
    async with session_factory() as session:
        link = await confirm_match(session, "village", "v1", key, "泸县委组织部 王干事")
        await session.commit()
    assert link.member_key == key and link.confirmed_by == "泸县委组织部 王干事"
    async with session_factory() as session:
        member = await session.get(MemberRow, key)
        remaining = await candidate_matches(session, limit=10)
    assert member is not None and member.destination_region_code == "440300"  # from the village
    assert [c.local_id for c in remaining] == ["v2"]
    # a later sync still brings v1 without an ID number: the confirmation must hold
    await sync_all(session_factory, [SyncTarget(indexed, Side.DESTINATION)], secret=secret)
    async with session_factory() as session:
        v1 = (
            await session.execute(select(SourceLinkRow).where(SourceLinkRow.local_id == "v1"))
        ).scalar_one()
        member = await session.get(MemberRow, key)
    assert (
        v1.member_key == key and member is not None and member.destination_region_code == "440300"
    )


async def test_confirm_refuses_bad_input(
    indexed: MockConnector, session_factory: Factory, secret: bytes
) -> None:
    key_a, key_b = member_key(secret, ID_A), member_key(secret, ID_B)
    async with session_factory() as session:
        with pytest.raises(NotFound):
            await confirm_match(session, "village", "nope", key_a, "me")
        with pytest.raises(NotFound):
            await confirm_match(session, "village", "v1", "0" * 64, "me")
        with pytest.raises(RequestError):
            await confirm_match(session, "village", "v1", key_a, "  ")
        with pytest.raises(RequestError):  # already linked by its ID number
            await confirm_match(session, "county", "c2", key_a, "me")
        same = await confirm_match(session, "county", "c2", key_b, "me")
        assert same.confirmed_by is None  # no-op: it was already that member
