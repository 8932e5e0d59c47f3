"""The hub composes into a supergraph (issue 13), proven with Apollo's own tools (npm, pinned
in tests/federation_e2e/package-lock.json and installed into its node_modules/, which git
ignores): `@apollo/composition` composes the hub's `_service { sdl }` with a second subgraph
that extends `Member` by its key, and `@apollo/gateway` (offline: a static supergraph composed
in the test, no IntrospectAndCompose) queries a field of each subgraph in one request over a
real uvicorn hub on 127.0.0.1, forwarding the party's token; without it: UNAUTHENTICATED and
no data.

Without node/npm these tests skip, unless CI=true (then they fail: CI must prove composition).
The first run installs the packages (`npm ci`, about 15 s; offline from npm's cache when it
can), later runs reuse them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from hub.app import create_app
from hub.settings import Mode
from tests.api.trusted import Trusted, make_trusted

E2E = Path(__file__).resolve().parents[1] / "federation_e2e"
NPM_FLAGS = ("--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")


def _node_tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "node and npm are needed to prove composition (Node 20+)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return node, npm


def _installed() -> bool:
    """node_modules holds exactly the locked packages (npm's hidden lockfile is written last
    by a finished install, and only then newer than package-lock.json)."""
    hidden = E2E / "node_modules" / ".package-lock.json"
    return hidden.is_file() and hidden.stat().st_mtime >= (
        E2E / "package-lock.json").stat().st_mtime


@pytest.fixture(scope="session")
def node() -> str:
    node, npm = _node_tools()
    if not _installed():
        offline = subprocess.run([npm, "ci", "--offline", *NPM_FLAGS], cwd=E2E,
                                 capture_output=True, text=True, timeout=300)
        if offline.returncode != 0:  # not in npm's cache yet: from the registry
            online = subprocess.run([npm, "ci", *NPM_FLAGS], cwd=E2E, capture_output=True,
                                    text=True, timeout=600)
            assert online.returncode == 0, f"npm ci failed:\n{online.stderr[-2000:]}"
    return node


async def _run(node: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        node, *args, cwd=E2E, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode() + err.decode()


@pytest.fixture
async def served(make_world: Callable[..., Any],
                 tmp_path: Path) -> AsyncIterator[tuple[Trusted, str]]:
    """The trusted world's hub as a subgraph on a real port: (trusted, its /graphql URL)."""
    t = await make_trusted(make_world, tmp_path)
    server = uvicorn.Server(uvicorn.Config(
        create_app(t.world.runtime, mode=Mode.development(), federation=True),
        host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield t, f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await task
        await t.trust.close()
        await t.world.client.aclose()


async def _service_sdl(t: Trusted, url: str, party: str) -> str:
    import httpx

    async with httpx.AsyncClient() as client:
        response = await client.post(url, json={"query": "{ _service { sdl } }"},
                                     headers={"Authorization":
                                              f"Bearer {t.demo.token_for(party)}"})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["_service"]["sdl"])


async def test_composes_with_a_subgraph_extending_member(
        node: str, served: tuple[Trusted, str], tmp_path: Path) -> None:
    t, url = served
    sdl = tmp_path / "hub.graphql"
    sdl.write_text(await _service_sdl(t, url, "wenjiang"), encoding="utf-8")
    supergraph = tmp_path / "supergraph.graphql"
    code, out = await _run(node, "compose.mjs", str(sdl), str(supergraph))
    assert code == 0, out
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {"errors": [], "hints": []}, report
    composed = supergraph.read_text(encoding="utf-8")
    assert "outreachNote: String @join__field(graph: OUTREACH)" in composed
    assert '@join__type(graph: HUB, key: "key", resolvable: true)' in composed
    assert '@join__type(graph: OUTREACH, key: "key")' in composed


MEMBER = "query($k: ID!) { member(key: $k) { key name outreachNote } }"


async def _through_gateway(node: str, url: str, sdl: Path, tmp_path: Path, key: str,
                           authorization: str | None) -> dict[str, Any]:
    operation = tmp_path / "operation.json"
    operation.write_text(json.dumps({"query": MEMBER, "variables": {"k": key},
                                     "authorization": authorization}), encoding="utf-8")
    code, out = await _run(node, "gateway.mjs", url, str(sdl), str(operation))
    assert code == 0, out
    return json.loads(out.strip().splitlines()[-1])


async def test_gateway_queries_both_subgraphs_with_the_party_token(
        node: str, served: tuple[Trusted, str], tmp_path: Path) -> None:
    t, url = served
    key = t.world.keys[1]
    sdl = tmp_path / "hub.graphql"
    sdl.write_text(await _service_sdl(t, url, "wenjiang"), encoding="utf-8")
    direct = await t.gql("query($k: ID!) { member(key: $k) { name } }", {"k": key},
                         party="wenjiang")
    def token() -> str:  # a party token is single-use (replay protection): one per request
        return f"Bearer {t.demo.token_for('wenjiang')}"

    body = await _through_gateway(node, url, sdl, tmp_path, key, token())
    assert "errors" not in body, body
    assert body["data"]["member"] == {"key": key, "name": direct["data"]["member"]["name"],
                                      "outreachNote": f"outreach for {key[:6]}"}
    # a member out of wenjiang's scope is null through the router too
    hidden = await _through_gateway(node, url, sdl, tmp_path, t.world.keys[-1], token())
    assert hidden == {"data": {"member": None}}, hidden
    # without the party's token (or with a bad one): UNAUTHENTICATED from the hub, no data
    for authorization in (None, "Bearer not-a-token"):
        refused = await _through_gateway(node, url, sdl, tmp_path, key, authorization)
        assert (refused.get("data") or {}).get("member") is None, refused
        codes = {e.get("extensions", {}).get("code") for e in refused["errors"]}
        assert "UNAUTHENTICATED" in codes, refused
        assert direct["data"]["member"]["name"] not in json.dumps(refused, ensure_ascii=False)
