"""Write-back end to end over real HTTP: 温江 records a check-in with its party token on a hub
served by uvicorn (lifespan on, so the delivery worker runs), and the check-in arrives in the
simulated Chengdu platform (the `city` source's system of record) through its own REST API;
the county (a source that cannot take writes) says so. Retries of the mutation deliver once,
a platform that is down is retried until it is up, a refusing one fails with its error, all
visible in `ExchangeEntry.deliveries`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import aiohttp
import httpx
import pytest
import uvicorn

from connectors.base import Capability, WriteRequest, WriteResult
from connectors.factory import open_connector
from connectors.mapping import load_mapping
from connectors.mock import MockConnector
from hub.app import create_app
from hub.demo.generator import generate_world
from hub.demo.systems.chengdu import ChengduPlatform
from hub.demo.world import MAPPINGS_DIR
from hub.exchange.outbox import OutboxConfig
from hub.settings import Mode
from tests.api.conftest import make_world  # noqa: F401  (fixture)
from tests.api.trusted import Trusted, make_trusted

TOKEN = "write-back-token"
FAST = OutboxConfig(base_delay_seconds=0.05, max_delay_seconds=0.2, max_attempts=50,
                    poll_seconds=0.05)
CHECK_IN = """mutation($k: ID!, $o: ID!, $note: String, $key: String) {
  recordCheckIn(memberKey: $k, organization: $o, note: $note, idempotencyKey: $key) {
    replayed entry { number deliveries { source state reason attempts lastErrorCode lastError
                                         nextAttemptAt deliveredAt remoteId } } } }"""


class CityWithPlatform(MockConnector):
    """The test world's `city` source: its records as the API tests have them, its writes
    sent to a real Chengdu platform over HTTP by the real REST connector."""

    capabilities: ClassVar[frozenset[Capability]] = MockConnector.capabilities

    def __init__(self, city: MockConnector, platform: ChengduPlatform) -> None:
        super().__init__("city", {})
        self._rows = city._rows
        mapping = load_mapping(MAPPINGS_DIR / "chengdu.toml", overrides={"timeout_seconds": 1},
                               env={"CHENGDU_URL": platform.url, "CHENGDU_TOKEN": TOKEN})
        self.rest = open_connector(mapping)
        self._write_actions = self.rest.write_actions

    async def write(self, request: WriteRequest) -> WriteResult:
        return await self.rest.write(request)

    async def aclose(self) -> None:
        await self.rest.aclose()


@pytest.fixture
async def platform() -> AsyncIterator[ChengduPlatform]:
    async with ChengduPlatform(generate_world(5, 1), token=TOKEN) as p:
        yield p


@pytest.fixture
async def served(make_world: Callable[..., Any], tmp_path: Any,
                 platform: ChengduPlatform) -> AsyncIterator[Trusted]:
    t = await make_trusted(make_world, tmp_path)
    city = t.world.runtime.registry.get("city")
    assert city is not None
    city.connector = CityWithPlatform(t.world.city, platform)
    app = create_app(t.world.runtime, mode=Mode.development(), outbox=FAST)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    await t.world.client.aclose()
    t.world.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        yield t
    finally:
        await t.world.client.aclose()
        server.should_exit = True
        await task  # the app's lifespan closes the trust, the sources and the engine


async def check_in(t: Trusted, key: str, *, member: int = 0,
                   note: str = "扫码报到") -> dict[str, Any]:
    body = await t.gql(CHECK_IN, {"k": t.world.keys[member], "o": "WJ-YQ", "note": note,
                                  "key": key}, party="wenjiang")
    assert "errors" not in body, body
    return body["data"]["recordCheckIn"]


async def deliveries_when(t: Trusted, key: str, done: Callable[[dict[str, Any]], bool], *,
                          member: int = 0) -> dict[str, dict[str, Any]]:
    """The entry's deliveries by source (read by replaying its mutation: the same key and
    input answer the same entry), once `done(city's delivery)` holds."""
    for _ in range(200):
        receipt = await check_in(t, key, member=member)
        found = {d["source"]: d for d in receipt["entry"]["deliveries"]}
        if done(found["city"]):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries never settled: {found}")


async def platform_checkins(platform: ChengduPlatform) -> list[dict[str, Any]]:
    """What the Chengdu platform's own API lists."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{platform.url}/api/v1/checkins",
                            headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            assert response.status == 200
            return (await response.json())["data"]["items"]


async def test_a_check_in_arrives_in_the_platforms_own_api(
        served: Trusted, platform: ChengduPlatform) -> None:
    receipt = await check_in(served, "wb-1")
    number = receipt["entry"]["number"]
    assert {d["source"] for d in receipt["entry"]["deliveries"]} == {"city", "county"}
    found = await deliveries_when(served, "wb-1", lambda d: d["state"] == "DELIVERED")
    city, county = found["city"], found["county"]
    assert (city["attempts"], city["remoteId"], city["lastError"]) == (1, "CK000001", None)
    assert city["deliveredAt"] is not None and city["nextAttemptAt"] is None
    assert county["state"] == "NOT_APPLICABLE" and county["attempts"] == 0
    assert county["reason"] == ("this system cannot take writes: the entry stays in the "
                                "hub's ledger only")
    (item,) = await platform_checkins(platform)
    assert item["memberId"] == "d0" and item["orgCode"] == "WJ-YQ"
    assert item["hubEntryId"] == str(number) and item["remark"] == "扫码报到"
    assert item["hubMemberKey"] == served.world.keys[0]
    # the platform saw the hub's key, once (the replays above wrote no new entry)
    assert len(platform.write_keys) == 1 and platform.write_keys[0].startswith("yanxing-")


async def test_retried_mutations_deliver_once(served: Trusted, platform: ChengduPlatform) -> None:
    answers = await asyncio.gather(*(check_in(served, "wb-2", member=1) for _ in range(4)))
    assert len({a["entry"]["number"] for a in answers}) == 1
    await deliveries_when(served, "wb-2", lambda d: d["state"] == "DELIVERED",
                                  member=1)
    await asyncio.sleep(0.2)
    assert len(await platform_checkins(platform)) == 1 and len(platform.write_keys) == 1


async def test_a_platform_down_then_up_gets_it_exactly_once(
        served: Trusted, platform: ChengduPlatform) -> None:
    port = platform.port
    await platform.stop()
    await check_in(served, "wb-3", member=2)
    found = await deliveries_when(served, "wb-3", lambda d: d["attempts"] >= 2,
                                  member=2)
    city = found["city"]
    assert (city["state"], city["lastErrorCode"]) == ("PENDING", "SOURCE_UNAVAILABLE")
    assert "POST /api/v1/checkins" in city["lastError"] and city["nextAttemptAt"] is not None
    await platform.start(port=port or 0)
    found = await deliveries_when(served, "wb-3", lambda d: d["state"] == "DELIVERED",
                                  member=2)
    assert found["city"]["attempts"] >= 3 and found["city"]["lastError"] is None
    items = await platform_checkins(platform)
    assert [i["memberId"] for i in items] == ["d2"]
    assert len(platform.write_keys) == 1


async def test_a_refusing_platform_fails_with_its_error(
        served: Trusted, platform: ChengduPlatform) -> None:
    platform.reject_writes = "党员 13912345678 未在本平台登记，拒绝报到"
    await check_in(served, "wb-4", member=3)
    found = await deliveries_when(served, "wb-4", lambda d: d["state"] == "FAILED",
                                  member=3)
    city = found["city"]
    assert (city["attempts"], city["lastErrorCode"]) == (1, "SOURCE_REJECTED")
    assert "未在本平台登记" in city["lastError"] and "13912345678" not in city["lastError"]
    assert await platform_checkins(platform) == []
