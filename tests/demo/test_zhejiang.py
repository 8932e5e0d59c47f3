"""The 浙里-like platform as a real server: HMAC-signed requests, page/size paging, codes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from hub.demo import World
from hub.demo.systems.zhejiang import ZhejiangPlatform, sign, signed_params

APP_KEY, SECRET = "yanxing-hub", "s3cret-for-tests-only"
MEMBERS = "/openapi/v2/party_members"


@pytest.fixture
async def platform(world: World) -> AsyncIterator[ZhejiangPlatform]:
    async with ZhejiangPlatform(world, app_key=APP_KEY, secret=SECRET) as server:
        yield server


async def _call(http: aiohttp.ClientSession, platform: ZhejiangPlatform, path: str,
                params: dict[str, str]) -> tuple[int, dict]:
    async with http.get(platform.url + path, params=params) as resp:
        return resp.status, await resp.json()


def test_signature_is_the_documented_one() -> None:
    import hashlib
    import hmac

    params = {"size": "10", "page": "2", "appKey": "k", "timestamp": "1700000000000"}
    text = "appKey=k&page=2&size=10&timestamp=1700000000000"
    assert sign(params, "x") == hmac.new(b"x", text.encode(), hashlib.sha256).hexdigest()
    assert sign({**params, "sign": "ignored"}, "x") == sign(params, "x")


async def test_page_size_paging_visits_every_member(
    http: aiohttp.ClientSession, platform: ZhejiangPlatform, world: World
) -> None:
    seen: list[str] = []
    page = 1
    while True:
        params = signed_params({"page": str(page), "size": "45"}, app_key=APP_KEY, secret=SECRET)
        status, body = await _call(http, platform, MEMBERS, params)
        assert status == 200 and body["success"] is True
        rows = body["result"]["rows"]
        seen += [r["member_id"] for r in rows]
        if page * 45 >= body["result"]["total"]:
            break
        page += 1
    expected = {m.local_id for m in world.members_in("zhejiang")}
    assert len(seen) == len(set(seen)) == body["result"]["total"] == len(expected)
    assert set(seen) == expected


async def test_coded_values_and_compact_dates(
    http: aiohttp.ClientSession, platform: ZhejiangPlatform, world: World
) -> None:
    m = next(m for m in world.members_in("zhejiang") if m.defect is None)
    params = signed_params({"member_ids": m.local_id}, app_key=APP_KEY, secret=SECRET)
    _, body = await _call(http, platform, MEMBERS, params)
    (row,) = body["result"]["rows"]
    assert row["gender_code"] == ("1" if m.person.gender == "male" else "2")
    assert row["birth_date"] == m.person.birth_date.strftime("%Y%m%d")
    assert row["status_code"] in ("01", "02", "03", "04")
    assert row["id_card_no"] == m.person.id_number


async def test_batch_by_ids(
    http: aiohttp.ClientSession, platform: ZhejiangPlatform, world: World
) -> None:
    ids = [m.local_id for m in world.members_in("zhejiang")][:2]
    params = signed_params({"member_ids": f"{ids[1]},999,{ids[0]}"}, app_key=APP_KEY,
                           secret=SECRET)
    _, body = await _call(http, platform, MEMBERS, params)
    assert [r["member_id"] for r in body["result"]["rows"]] == [ids[1], ids[0]]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda p: p.pop("sign"), "SIGN_MISSING"),
        (lambda p: p.pop("timestamp"), "SIGN_MISSING"),
        (lambda p: p.update(sign="0" * 64), "SIGN_INVALID"),
        (lambda p: p.update(page="2"), "SIGN_INVALID"),  # tampered after signing
        (lambda p: p.update(appKey="someone-else"), "APP_KEY_INVALID"),
        (lambda p: p.update(timestamp="yesterday"), "TIMESTAMP_INVALID"),
    ],
)
async def test_refuses_bad_signatures(
    http: aiohttp.ClientSession, platform: ZhejiangPlatform, mutate, code: str
) -> None:
    params = signed_params({"page": "1", "size": "5"}, app_key=APP_KEY, secret=SECRET)
    mutate(params)
    status, body = await _call(http, platform, MEMBERS, params)
    assert status == 401
    assert body == {"success": False, "error_code": code, "message": body["message"]}
    assert platform.requests == 0


@pytest.mark.parametrize("age", [301, -301])
async def test_refuses_stale_timestamps(
    http: aiohttp.ClientSession, platform: ZhejiangPlatform, age: int
) -> None:
    stamp = int((time.time() - age) * 1000)
    params = signed_params({"page": "1"}, app_key=APP_KEY, secret=SECRET, timestamp=stamp)
    status, body = await _call(http, platform, MEMBERS, params)
    assert (status, body["error_code"]) == (401, "TIMESTAMP_EXPIRED")
    fresh = signed_params({"page": "1"}, app_key=APP_KEY, secret=SECRET,
                          timestamp=int(time.time()))  # seconds are accepted too
    assert (await _call(http, platform, MEMBERS, fresh))[0] == 200


async def test_wrong_secret_is_refused(
    http: aiohttp.ClientSession, platform: ZhejiangPlatform
) -> None:
    params = signed_params({"page": "1"}, app_key=APP_KEY, secret="not-the-secret")
    status, body = await _call(http, platform, MEMBERS, params)
    assert (status, body["error_code"]) == (401, "SIGN_INVALID")


async def test_changed_since_in_beijing_time(
    http: aiohttp.ClientSession, platform: ZhejiangPlatform, world: World
) -> None:
    from datetime import datetime, timedelta, timezone

    since = datetime(2024, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    expected = {m.local_id for m in world.members_in("zhejiang")
                if m.person.destination_updated_at > since}
    params = signed_params({"update_time_begin": "2024-05-01 08:00:00", "size": "200"},
                           app_key=APP_KEY, secret=SECRET)
    _, body = await _call(http, platform, MEMBERS, params)
    assert {r["member_id"] for r in body["result"]["rows"]} == expected
    assert body["result"]["total"] == len(expected) > 0
