"""A party's own backend built on hub.client (issue 12 §4), as docs/frontend.md describes it:
the browser calls the party's backend (its own session, its own origin), the backend holds
the party's key and calls the hub with a fresh token per request. Both run on real ports; the
backend turns the hub's typed errors into answers its browser code can act on."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.app import create_app
from hub.client import (
    AsyncHubClient,
    ContractDenied,
    HubClientError,
    Overloaded,
    PartyCredentials,
    RateLimited,
    RetryPolicy,
)
from hub.settings import Limits, Mode, PartyRate, RateLimits
from tests.api.served import serve
from tests.api.trusted import make_trusted

MEMBERS = """query Members($first: Int!, $after: String) {
  members(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { key name }
  }
}"""


def party_backend(hub: AsyncHubClient) -> Starlette:
    """The party's backend: one route its browser pages call (paging passed through)."""

    async def members(request: Request) -> Response:
        after = request.query_params.get("after")
        try:
            result = await hub.execute(MEMBERS, {"first": 2, "after": after})
        except (RateLimited, Overloaded) as exc:
            return JSONResponse({"code": exc.code}, status_code=503, headers={
                "Retry-After": str(math.ceil(exc.retry_after or 1))})
        except ContractDenied as exc:
            return JSONResponse({"code": exc.code}, status_code=403)
        except HubClientError as exc:
            return JSONResponse({"code": exc.code}, status_code=502)
        page = result.data["members"]
        return JSONResponse({"names": [n["name"] for n in page["nodes"]],
                             "next": page["pageInfo"]["endCursor"]
                             if page["pageInfo"]["hasNextPage"] else None,
                             "partial": sorted(result.codes)})

    return Starlette(routes=[Route("/api/members", members)])


async def test_a_party_backend_pages_through_the_hub_for_its_browser(
        make_world: Callable[..., Any], tmp_path: Path) -> None:
    t = await make_trusted(make_world, tmp_path, limits=Limits(
        rate=RateLimits(parties=(("luxian", PartyRate(0.01, 2)),))))
    try:
        async with serve(create_app(t.world.runtime, mode=Mode.development())) as hub_url:
            def client(party: str) -> AsyncHubClient:
                kid, key = t.demo.party_keys[party]
                creds = PartyCredentials.from_key_file(
                    key, party=party, kid=kid, audience=t.demo.hub_id, user="backend-1",
                    purpose="co-management")
                return AsyncHubClient(hub_url, creds, retry=RetryPolicy(attempts=1))

            async with client("wenjiang") as wenjiang, client("deyang") as deyang, \
                    client("luxian") as luxian, \
                    serve(party_backend(wenjiang)) as backend, \
                    serve(party_backend(deyang)) as denied_backend, \
                    serve(party_backend(luxian)) as limited_backend, \
                    httpx.AsyncClient() as browser:
                first = (await browser.get(f"{backend}/api/members")).json()
                assert len(first["names"]) == 2 and first["next"]
                second = (await browser.get(f"{backend}/api/members",
                                            params={"after": first["next"]})).json()
                assert len(second["names"]) == 2 and set(second["names"]) != set(first["names"])
                refused = await browser.get(f"{denied_backend}/api/members")
                assert refused.status_code == 403
                assert refused.json() == {"code": "CONTRACT_DENIED"}
                codes = [(await browser.get(f"{limited_backend}/api/members")).status_code
                         for _ in range(3)]
                assert codes == [200, 200, 503]
                busy = await browser.get(f"{limited_backend}/api/members")
                assert busy.json() == {"code": "RATE_LIMITED"}
                assert int(busy.headers["retry-after"]) >= 1
    finally:
        await t.trust.close()
