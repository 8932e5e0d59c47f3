"""The 蓉城先锋-like platform as a real server: bearer auth, cursor paging, ids, updatedSince."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest

from connectors.idcard import has_valid_check_digit, normalise_id_number
from hub.demo import World
from hub.demo.systems.chengdu import ChengduPlatform

TOKEN = "test-token-蓉城".encode().hex()


@pytest.fixture
async def platform(world: World) -> AsyncIterator[ChengduPlatform]:
    async with ChengduPlatform(world, token=TOKEN) as server:
        yield server


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _get(http: aiohttp.ClientSession, platform: ChengduPlatform, path: str,
               **params: str) -> tuple[int, dict]:
    async with http.get(platform.url + path, params=params, headers=_auth()) as resp:
        return resp.status, await resp.json()


async def test_listens_on_an_ephemeral_local_port(platform: ChengduPlatform) -> None:
    assert platform.url.startswith("http://127.0.0.1:") and platform.port and platform.port > 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": TOKEN}])
async def test_refuses_without_the_bearer_token(
    http: aiohttp.ClientSession, platform: ChengduPlatform, headers: dict[str, str]
) -> None:
    async with http.get(platform.url + "/api/v1/members", headers=headers) as resp:
        assert resp.status == 401
        body = await resp.json()
    assert body["code"] == 401 and body["data"] is None
    assert platform.requests == 0


async def test_cursor_paging_visits_every_member_once(
    http: aiohttp.ClientSession, platform: ChengduPlatform, world: World
) -> None:
    seen: list[str] = []
    cursor = ""
    while True:
        status, body = await _get(http, platform, "/api/v1/members", cursor=cursor, limit="37")
        assert status == 200 and body["code"] == 0
        seen += [item["memberId"] for item in body["data"]["items"]]
        cursor = body["data"]["nextCursor"]
        if cursor is None:
            break
    expected = {m.local_id for m in world.members_in("chengdu")}
    assert len(seen) == len(set(seen)) == len(expected) and set(seen) == expected


async def test_members_are_camel_case_destination_records(
    http: aiohttp.ClientSession, platform: ChengduPlatform, world: World
) -> None:
    m = next(m for m in world.members_in("chengdu")
             if m.defect is None and m.person.phone != m.person.origin_phone)
    _status, body = await _get(http, platform, "/api/v1/members", ids=m.local_id)
    (item,) = body["data"]["items"]
    assert item["idCard"] == m.person.id_number and item["mobile"] == m.person.phone
    assert item["gender"] in ("M", "F") and item["updateTime"].endswith("+08:00")


async def test_batch_by_ids_skips_unknown(
    http: aiohttp.ClientSession, platform: ChengduPlatform, world: World
) -> None:
    ids = [m.local_id for m in world.members_in("chengdu")][:3]
    status, body = await _get(http, platform, "/api/v1/members",
                              ids=",".join([ids[2], "rc-nobody", ids[0]]))
    assert status == 200
    assert [i["memberId"] for i in body["data"]["items"]] == [ids[2], ids[0]]


async def test_updated_since_returns_only_newer(
    http: aiohttp.ClientSession, platform: ChengduPlatform, world: World
) -> None:
    since = datetime(2024, 5, 1, tzinfo=UTC)
    expected = {m.local_id for m in world.members_in("chengdu")
                if m.person.destination_updated_at > since}
    for text in (since.strftime("%Y-%m-%dT%H:%M:%S%z"),
                 since.astimezone(timezone(timedelta(hours=8))).isoformat()):
        status, body = await _get(http, platform, "/api/v1/members",
                                  updatedSince=text, limit="500")
        assert status == 200
        assert {i["memberId"] for i in body["data"]["items"]} == expected
    assert 0 < len(expected) < sum(1 for _ in world.members_in("chengdu"))


async def test_planted_bad_rows_are_served(
    http: aiohttp.ClientSession, platform: ChengduPlatform, world: World
) -> None:
    bad = {b.field: b.local_id for b in world.bad_rows("chengdu")}
    _, body = await _get(http, platform, "/api/v1/members", ids=",".join(bad.values()))
    items = {i["memberId"]: i for i in body["data"]["items"]}
    assert not has_valid_check_digit(normalise_id_number(items[bad["id_number"]]["idCard"]))
    assert items[bad["birth_date"]]["birthday"].endswith("-02-30")
    assert items[bad["gender"]]["gender"] not in ("M", "F")
    assert items[bad["name"]]["realName"] is None


async def test_organisations_activities_attendance(
    http: aiohttp.ClientSession, platform: ChengduPlatform, world: World
) -> None:
    _, orgs = await _get(http, platform, "/api/v1/orgs", limit="500")
    assert {o["orgCode"] for o in orgs["data"]["items"]} == {
        o.org_id for o in world.organizations("chengdu")}
    _, acts = await _get(http, platform, "/api/v1/activities", limit="500")
    assert len(acts["data"]["items"]) == len(world.activities("chengdu"))
    _, att = await _get(http, platform, "/api/v1/attendances", limit="5")
    assert {"recordId", "activityId", "idCard", "signType"} <= att["data"]["items"][0].keys()


async def test_bad_parameters_and_injected_failures(
    http: aiohttp.ClientSession, platform: ChengduPlatform
) -> None:
    status, body = await _get(http, platform, "/api/v1/members", cursor="%%%")
    assert status == 400 and body["code"] == 400
    platform.fail_rate = 1.0
    status, body = await _get(http, platform, "/api/v1/members")
    assert status == 503 and body["code"] == 503
    platform.fail_rate, platform.garbage_rate = 0.0, 1.0
    async with http.get(platform.url + "/api/v1/members", headers=_auth()) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"


async def test_latency_is_injected(world: World, http: aiohttp.ClientSession) -> None:
    async with ChengduPlatform(world, token=TOKEN, latency=0.2) as slow:
        started = datetime.now()
        await _get(http, slow, "/api/v1/orgs")
        assert (datetime.now() - started).total_seconds() >= 0.2
