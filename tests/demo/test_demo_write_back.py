"""The demo's write-back, as `yanxing demo` serves it: the hub built from the demo's
yanxing.toml under its contracts, uvicorn with its lifespan (so the delivery worker runs), the
Chengdu operator records a check-in over HTTP, and the check-in appears in the simulated
蓉城先锋 platform's own API and in the county database's 报到 table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import sqlalchemy as sa
import uvicorn
from sqlalchemy.ext.asyncio import create_async_engine

from hub.app import create_app
from hub.demo.launch import start_demo
from hub.store.models import MemberRow, SourceLinkRow

CHECK_IN = """mutation($k: ID!, $o: ID!) {
  recordCheckIn(memberKey: $k, organization: $o, note: "到社区报到", idempotencyKey: "demo-1") {
    entry { number deliveries { source state lastError } } } }"""


async def _member_in_chengdu_and_county(url: str, moved: set[str]) -> tuple[str, str, str, str]:
    """(member key, its Chengdu branch, its id at chengdu, its id in the county database), of
    a member no seeded transfer moved (its old origin's contracts no longer cover it)."""
    engine = create_async_engine(url)
    chengdu, county = sa.orm.aliased(SourceLinkRow), sa.orm.aliased(SourceLinkRow)
    async with engine.connect() as conn:
        row = (await conn.execute(
            sa.select(MemberRow.key, MemberRow.destination_org_id, chengdu.local_id,
                      county.local_id)
            .join(chengdu, (chengdu.member_key == MemberRow.key) & (chengdu.source == "chengdu"))
            .join(county, (county.member_key == MemberRow.key) & (county.source == "county"))
            .where(MemberRow.destination_org_id.is_not(None), MemberRow.key.not_in(moved))
            .order_by(MemberRow.key).limit(1))).one()
    await engine.dispose()
    return row[0], str(row[1]), row[2], row[3]


async def test_a_check_in_reaches_the_chengdu_platform_and_the_county_database(
        tmp_path: Path) -> None:
    async with start_demo(tmp_path / "demo", port=0, members=80, seed=3) as hub:
        assert hub.trust is not None
        moved = set(hub.history.completed_members) if hub.history else set()
        key, org, chengdu_id, county_id = await _member_in_chengdu_and_county(
            hub.settings.hub.database_url, moved)
        app = create_app(hub.settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                               log_level="warning", lifespan="on"))
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                         timeout=30) as client:
                token = hub.trust.token_for("chengdu-rcxf-operator")
                answer = (await client.post(
                    "/graphql", json={"query": CHECK_IN, "variables": {"k": key, "o": org}},
                    headers={"Authorization": f"Bearer {token}"})).json()
            assert "errors" not in answer, answer
            entry = answer["data"]["recordCheckIn"]["entry"]
            assert {"chengdu", "county"} <= {d["source"] for d in entry["deliveries"]}
            platform = hub.world.chengdu
            for _ in range(200):
                if platform.checkins:
                    break
                await asyncio.sleep(0.05)
            items = await _platform_checkins(platform.url, hub.env["CHENGDU_TOKEN"])
        finally:
            server.should_exit = True
            await task
        assert [(i["memberId"], i["orgCode"], i["hubEntryId"]) for i in items] == [
            (chengdu_id, org, str(entry["number"]))]
        county_rows = await _county_checkins(hub.world.county_db_url)
        assert [(r[0], r[1]) for r in county_rows] == [(county_id, org)]


async def _platform_checkins(url: str, token: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/api/v1/checkins",
                            headers={"Authorization": f"Bearer {token}"}) as response:
            return (await response.json())["data"]["items"]


async def _county_checkins(url: str) -> list[Any]:
    engine = create_async_engine(url)
    for _ in range(100):
        async with engine.connect() as conn:
            rows = list((await conn.execute(sa.text("SELECT dyid, bd_zzdm FROM dy_bdjl"))).all())
        if rows:
            break
        await asyncio.sleep(0.05)
    await engine.dispose()
    return rows
