"""A page of another origin queries a development-mode hub from headless Chromium (issue 12
§4): the page (served by a second server on another port) gets a token from /dev/token and
POSTs a query with `Authorization`, which makes the browser send a CORS preflight first. The
hub's allow-list names the page's origin; a page of an origin not on it gets nothing.

The browser is found as in tests/test_app.py (YANXING_REQUIRE_BROWSER=1: a missing chromium
fails instead of skipping)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from hub.app import create_app
from hub.contracts.demo import build_demo_trust
from tests.api.served import serve
from tests.api.test_frontend import dev_settings
from tests.api.trusted import PARTIES
from tests.test_app import BROWSER_REQUIRED, CHROMIUM

PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
(async () => {
  const hub = %s;
  const out = document.getElementById("out");
  try {
    const minted = await (await fetch(hub + "/dev/token?party=wenjiang")).json();
    const answer = await fetch(hub + "/graphql", {
      method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + minted.token,
                "X-Request-Id": "browser-page-1"},
      body: JSON.stringify({query: "{ sources { name } }"}),
    });
    const body = await answer.json();
    out.textContent = "RESULT " + JSON.stringify({status: answer.status,
      requestId: answer.headers.get("X-Request-Id"), body});
  } catch (error) {
    out.textContent = "FAILED " + error;
  }
})();
</script></body></html>"""


class Recorder:
    """ASGI wrapper recording (method, path) of every HTTP request the hub receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


async def _dump(url: str, profile: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
        "--virtual-time-budget=10000", f"--user-data-dir={profile}", "--dump-dom", url,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    return out.decode()


def _result(dom: str) -> Any:
    text = dom.split('<pre id="out">', 1)[1].split("</pre>", 1)[0]
    text = text.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<") \
        .replace("&gt;", ">")
    if not text.startswith("RESULT "):
        return text
    return json.loads(text.removeprefix("RESULT "))


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None and not BROWSER_REQUIRED,
                    reason="chromium is not installed (apt-get install chromium)")
async def test_a_page_of_an_allowed_origin_queries_the_hub(tmp_path: Path) -> None:
    assert CHROMIUM is not None, "YANXING_REQUIRE_BROWSER=1 but chromium is not installed"
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    hub_url: dict[str, str] = {}

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE % json.dumps(hub_url["url"]))

    pages = Starlette(routes=[Route("/", page)])
    async with serve(pages) as allowed_page, serve(pages) as other_page:
        settings = dev_settings(tmp_path, demo)
        settings = dataclasses.replace(settings, hub=dataclasses.replace(
            settings.hub, cors_origins=(allowed_page,)))
        recorder = Recorder(create_app(settings))
        async with serve(recorder, lifespan="on") as hub:
            hub_url["url"] = hub
            result = _result(await _dump(allowed_page + "/", tmp_path / "profile-1"))
            assert isinstance(result, dict), result
            assert result["status"] == 200 and "errors" not in result["body"], result
            assert {s["name"] for s in result["body"]["data"]["sources"]} == set()
            assert result["requestId"] == "browser-page-1"  # an exposed header
            # the browser asked first (Authorization is not a CORS-safelisted header)
            assert ("OPTIONS", "/graphql") in recorder.seen
            assert recorder.seen.index(("OPTIONS", "/graphql")) < \
                recorder.seen.index(("POST", "/graphql"))
            recorder.seen.clear()
            refused = _result(await _dump(other_page + "/", tmp_path / "profile-2"))
            assert isinstance(refused, str) and refused.startswith("FAILED"), refused
            assert ("POST", "/graphql") not in recorder.seen  # stopped at the preflight


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None and not BROWSER_REQUIRED,
                    reason="chromium is not installed (apt-get install chromium)")
async def test_graphiql_fetches_the_schema_with_a_party_token(tmp_path: Path) -> None:
    """Under [trust], GraphiQL's own introspection request carries the picked party's fresh
    token: the hub answers it (the Docs panel used to say "Error fetching schema")."""
    assert CHROMIUM is not None, "YANXING_REQUIRE_BROWSER=1 but chromium is not installed"
    import httpx

    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    async with serve(create_app(dev_settings(tmp_path, demo)), lifespan="on") as hub:
        dom = await _dump(hub + "/", tmp_path / "profile")
        assert "graphiql-container" in dom
        async with httpx.AsyncClient(base_url=hub) as client:
            metrics = (await client.get("/metrics")).text
    fetched = [line for line in metrics.splitlines()
               if line.startswith('yanxing_requests_total{operation="IntrospectionQuery"')]
    assert fetched and all('outcome="ok"' in line for line in fetched), fetched
