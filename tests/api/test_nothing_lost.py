"""Nothing lost, ever (issue 10), through GraphQL: a platform capping its by-id batches still
answers every linked member's live fields, an id it no longer has is listed in
`dataQualityIssues` (RECORD_NOT_FOUND), and a sync whose pages fall short of the platform's own
total is listed there too (SOURCE_TOTAL_MISMATCH)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from connectors.mapping import parse_mapping
from connectors.rest import RestConnector
from hub.federation.sync import sync_source
from hub.model import Side
from tests.api.conftest import OLD, World, member_values

N, ID_CAP, PAGE_CAP = 60, 10, 20
#: the platform no longer has the last linked member (d59)
ROWS = [{"id": f"d{i}", "xm": member_values(i)[1]["name"], "sfzh": member_values(i)[1]["id_number"],
         "dw": member_values(i)[1]["employer"], "gx": OLD.isoformat()} for i in range(N - 1)]


async def members(request: web.Request) -> web.Response:
    if "ids" in request.query:
        wanted = request.query["ids"].split(",")[:ID_CAP]
        return web.json_response({"rows": [r for r in ROWS if r["id"] in wanted]})
    page, size = int(request.query["page"]), min(int(request.query["size"]), PAGE_CAP)
    # says it holds one more than it serves: the sync must say so
    return web.json_response(
        {"total": len(ROWS) + 1, "rows": ROWS[(page - 1) * size : page * size]}
    )


@asynccontextmanager
async def city_platform() -> AsyncIterator[RestConnector]:
    app = web.Application()
    app.router.add_get("/members", members)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    raw: dict[str, Any] = {
        "source": {"name": "city", "kind": "rest", "side": "destination"},
        "connection": {"base_url": f"http://127.0.0.1:{runner.addresses[0][1]}"},
        "entities": {"member": {
            "path": "/members", "records": "rows", "local_id": "id",
            "pagination": {"type": "page", "page_param": "page", "size_param": "size",
                           "size": 200, "total": "total"},
            "by_keys": {"param": "ids", "max": 100},
            "fields": {"name": "xm", "id_number": "sfzh", "employer": "dw", "updated_at": "gx"},
        }},
    }
    try:
        async with RestConnector(parse_mapping(raw)) as connector:
            yield connector
    finally:
        await runner.cleanup()


ISSUES = """query($code: String) { dataQualityIssues(filter: {code: $code}) {
  nodes { system entity code localId message } } }"""


async def test_capped_batches_answer_every_member_and_a_gone_id_is_listed(world: World) -> None:
    entry = world.runtime.registry.get("city")
    assert entry is not None
    async with city_platform() as connector:
        entry.connector = connector
        body = await world.gql("{ members(first: 100) { nodes { destination { employer } } } }")
    assert "errors" not in body, body
    employers = [n["destination"]["employer"] for n in body["data"]["members"]["nodes"]]
    assert employers.count("温江制造厂") == N - 1  # 10 ids per answer, none lost
    issues = await world.gql(ISSUES, {"code": "RECORD_NOT_FOUND"})
    assert [(n["system"], n["localId"]) for n in issues["data"]["dataQualityIssues"]["nodes"]] == [
        ("city", f"d{N - 1}")]


async def test_a_short_sync_is_listed_as_a_data_quality_issue(world: World, secret: bytes) -> None:
    async with city_platform() as connector:
        summary = await sync_source(world.runtime.session_factory, connector,
                                    side=Side.DESTINATION, secret=secret)
    assert summary.ok and summary.entities == {"member": N - 1}
    assert summary.shortfalls == {"member": (N, N - 1)}
    issues = await world.gql(ISSUES, {"code": "SOURCE_TOTAL_MISMATCH"})
    [node] = issues["data"]["dataQualityIssues"]["nodes"]
    assert (node["system"], node["entity"], node["localId"]) == ("city", "member", None)
    assert (
        f"reported {N} member records (its total) but paging to its end gave {N - 1}"
        in node["message"]
    )
