"""Overloading probes (issue 6 §1, graphql-cop's alias and directive overloading), each over
real HTTP against the real app: every request's cost is bounded before it runs.

- fragment fan-out: 30 fragments each spreading the previous one twice (2^30 fields);
- list fan-out: lists without `first` nested under a page;
- alias overloading: graphql-cop's 101 aliases, 2,500 aliases of `sources(ping: true)`;
- directive overloading: graphql-cop's `__typename @aa@aa...`;
- /readyz (no token) and `sources(ping: true)` share one cached round of pings;
- a runaway request ends at its deadline; SIGTERM stops `yanxing serve` under load.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from graphql import get_introspection_query

from hub.api.limits import Limits
from tests.api.conftest import World, make_world, world  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def _codes(body: dict[str, Any]) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def _pings(world: World) -> tuple[int, int]:
    """Pings each source received (a ping reads one record of the first entity)."""
    def count(calls: list[Any]) -> int:
        return sum(1 for c in calls if c.keys is None and c.page_size == 1)
    return count(world.county.calls), count(world.city.calls)


def fan_out_document(levels: int = 30) -> str:
    parts = ["fragment F0 on Query { __typename }"]
    for i in range(1, levels):
        parts.append(f"fragment F{i} on Query {{ ...F{i - 1} a{i}: __typename ...F{i - 1} }}")
    return "\n".join(parts) + f"\n{{ ...F{levels - 1} }}"


# ---- fragment fan-out ---------------------------------------------------------------------

async def test_fragment_fan_out_is_refused_quickly(world: World) -> None:
    document = fan_out_document(30)
    assert len(document) < 2_000  # the 1.4 KB query of the review
    body = await asyncio.wait_for(world.gql(document), 5)
    assert body["data"] is None
    assert _codes(body) == ["LIMIT_EXCEEDED"]
    assert "2000 fields" in body["errors"][0]["message"]
    # the same fan-out over real fields: refused before any source is read
    real = ["fragment G0 on Member { name }"] + [
        f"fragment G{i} on Member {{ ...G{i - 1} x{i}: name ...G{i - 1} }}" for i in range(1, 30)]
    body = await asyncio.wait_for(world.gql(
        "\n".join(real) + "\n{ members(first: 1) { nodes { ...G29 } } }"), 5)
    assert _codes(body) == ["LIMIT_EXCEEDED"]
    assert world.county.calls == [] and world.city.calls == []


async def test_fragments_spread_often_but_within_limits_are_analysed_once(world: World) -> None:
    # 2^9 = 512 expanded fields: allowed, and answered (execution merges the duplicates)
    parts = ["fragment F0 on Member { name }"] + [
        f"fragment F{i} on Member {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 10)]
    body = await asyncio.wait_for(world.gql(
        "\n".join(parts) + "\n{ members(first: 2) { nodes { ...F9 } } }"), 5)
    assert "errors" not in body, body
    assert len(body["data"]["members"]["nodes"]) == 2


async def test_expanded_field_limit_is_configurable(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(limits=Limits(max_fields=5))
    body = await world.gql("{ members(first: 1) { nodes { key name phone status } } }")
    assert _codes(body) == ["LIMIT_EXCEEDED"]
    body = await world.gql("{ members(first: 1) { nodes { key name } } }")
    assert "errors" not in body, body
    await world.client.aclose()


async def test_graphiql_introspection_stays_within_the_document_limits(world: World) -> None:
    body = await world.gql(get_introspection_query(descriptions=True))
    assert "errors" not in body, body["errors"]


# ---- lists without `first` ----------------------------------------------------------------

LIST_FAN_OUT = """{ members(first: 100) { nodes { activities { nodes { activity { attendees {
  member { name } } } } } } } }"""


async def test_list_fan_out_is_refused_by_cost_before_execution(world: World) -> None:
    body = await asyncio.wait_for(world.gql(LIST_FAN_OUT), 5)
    assert body["data"] is None and _codes(body) == ["LIMIT_EXCEEDED"]
    assert "cost" in body["errors"][0]["message"]
    assert world.county.calls == [] and world.city.calls == []


async def test_unpaged_lists_are_capped_by_their_resolvers(make_world: Callable[..., Any]
                                                           ) -> None:
    world: World = await make_world(limits=Limits(max_list_size=2))  # the activity has 3
    body = await world.gql("{ activities { nodes { attendees { mode } } } }")
    [activity] = body["data"]["activities"]["nodes"]
    assert len(activity["attendees"]) == 2
    [error] = body["errors"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert error["path"] == ["activities", "nodes", 0, "attendees"]
    assert "first 2" in error["message"]
    await world.client.aclose()


# ---- aliases and repeated expensive fields ------------------------------------------------

async def test_graphql_cop_alias_overloading_finds_nothing(world: World) -> None:
    aliases = "".join(f"alias{i}:__typename \n" for i in range(101))
    body = await world.gql("query cop { " + aliases + " }")
    assert not (body.get("data") or {}).get("alias100")
    assert _codes(body) == ["LIMIT_EXCEEDED"]
    assert "101 aliases" in body["errors"][0]["message"]
    ok = await world.gql("{ " + "".join(f"a{i}: __typename " for i in range(30)) + "}")
    assert "errors" not in ok and ok["data"]["a29"] == "Query"


async def test_aliases_are_counted_through_fragments(world: World) -> None:
    fragment = "fragment A on Query { " + " ".join(f"a{i}: __typename" for i in range(20)) + " }"
    body = await world.gql(fragment + " { ...A ... on Query { ...A } }")
    assert _codes(body) == ["LIMIT_EXCEEDED"] and "40 aliases" in body["errors"][0]["message"]


async def test_aliased_pings_are_costed_and_shared(world: World) -> None:
    many = "{ " + " ".join(f"p{i}: sources(ping: true) {{ name }}" for i in range(25)) + " }"
    body = await world.gql(many)
    assert _codes(body) == ["LIMIT_EXCEEDED"] and "cost" in body["errors"][0]["message"]
    assert _pings(world) == (0, 0)
    few = "{ " + " ".join(f"p{i}: sources(ping: true) {{ name }}" for i in range(10)) + " }"
    body = await world.gql(few)
    assert "errors" not in body, body
    assert _pings(world) == (1, 1)  # ten aliases, one ping per source


# ---- directives ---------------------------------------------------------------------------

async def test_graphql_cop_directive_overloading_finds_nothing(world: World) -> None:
    body = await world.gql("query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }")
    assert len(body["errors"]) == 1 and _codes(body) == ["LIMIT_EXCEEDED"]
    assert "@aa is repeated" in body["errors"][0]["message"]
    body = await world.gql("{ __typename @include(if: true) @include(if: true) }")
    assert _codes(body) == ["LIMIT_EXCEEDED"]


async def test_directive_count_is_limited(world: World) -> None:
    fields = " ".join(f"a{i}: __typename @include(if: true)" for i in range(25))
    assert "errors" not in await world.gql("{ " + fields + " }")
    fields = " ".join(f"t{i}: __typename @include(if: true)" for i in range(20))
    more = " ".join(f"... on Query @skip(if: false) {{ u{i}: __typename }}" for i in range(31))
    body = await world.gql("{ " + fields + " " + more + " }")
    assert _codes(body) == ["LIMIT_EXCEEDED"] and "51 directives" in body["errors"][0]["message"]


# ---- health probes ------------------------------------------------------------------------

async def test_readyz_is_not_load_on_the_sources(world: World) -> None:
    answers = await asyncio.gather(*(world.client.get("/readyz") for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    for _ in range(5):
        assert (await world.client.get("/readyz")).status_code == 200
    assert _pings(world) == (1, 1)  # one shared round, then the cached health
    await world.gql("{ sources(ping: true) { name } }")
    assert _pings(world) == (1, 1)


# ---- deadline and shutdown ----------------------------------------------------------------

async def test_a_runaway_request_ends_at_its_deadline(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(limits=Limits(request_timeout_seconds=0.3), timeout=10)
    world.county.latency = world.city.latency = 5.0
    response = await asyncio.wait_for(world.client.post(
        "/graphql", json={"query": "{ members(first: 2) { nodes { name } } }"}), 3)
    assert response.status_code == 504
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "REQUEST_TIMEOUT"
    assert "0.3 s" in error["message"] and "Traceback" not in response.text
    await world.client.aclose()


MAPPING = """
[source]
name = "slow"
kind = "rest"
title = "慢系统"
side = "destination"

[connection]
base_url = "{base_url}"
timeout_seconds = 60

[entities.member]
path = "/members"
records = "items"
local_id = "id"

[entities.member.fields]
name = "name"
id_number = "idCard"
"""

CONFIG = """
[hub]
database_url = "sqlite+aiosqlite:///hub.db"
secret = "{secret}"
open_access = true  # production mode, no [trust]: as behind an authenticating gateway

[limits]
source_timeout_seconds = 60
request_timeout_seconds = 120
health_cache_seconds = 0
shutdown_timeout_seconds = 1

[[sources]]
mapping = "slow.toml"
owner = "slow-operator"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sigterm_stops_serve_under_load(tmp_path: Path) -> None:
    asked, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        asked.set()
        try:
            await asyncio.wait_for(release.wait(), 30)
        except TimeoutError:
            pass
        return web.json_response({"items": []})

    app = web.Application()
    app.router.add_get("/members", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    source_port = runner.addresses[0][1]
    (tmp_path / "slow.toml").write_text(
        MAPPING.format(base_url=f"http://127.0.0.1:{source_port}"), encoding="utf-8")
    (tmp_path / "yanxing.toml").write_text(CONFIG.format(secret="s" * 40), encoding="utf-8")
    port = _free_port()
    upgrade = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "db", "upgrade", "--config", str(tmp_path / "yanxing.toml"),
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL)
    assert await upgrade.wait() == 0
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "serve", "--config", str(tmp_path / "yanxing.toml"),
        "--port", str(port), cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            for _ in range(200):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("yanxing serve did not start")
            request = asyncio.create_task(
                client.post("/graphql", json={"query": "{ sources(ping: true) { name } }"}))
            await asyncio.wait_for(asked.wait(), 10)  # the request is waiting on the source
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 15)
            took = time.monotonic() - started
            request.cancel()
        stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
        assert took < 10, f"serve took {took:.1f} s to stop; {stderr[-2000:]}"
        # uvicorn re-raises the signal once shut down: the exit status says "ended by SIGTERM"
        assert code in (0, -signal.SIGTERM), stderr[-2000:]
        assert "Application shutdown complete" in stderr
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        release.set()
        await runner.cleanup()


async def test_refused_and_timed_out_requests_are_audited_once(make_world: Callable[..., Any],
                                                               tmp_path: Path) -> None:
    import json

    from sqlalchemy import select

    from hub.audit.log import AuditEntryRow
    from tests.api.trusted import make_trusted

    trusted = await make_trusted(make_world, tmp_path,
                                 limits=Limits(request_timeout_seconds=0.3), timeout=10)
    try:
        refused = await trusted.gql(fan_out_document(30), party="wenjiang")
        assert _codes(refused) == ["LIMIT_EXCEEDED"]
        trusted.world.county.latency = trusted.world.city.latency = 5.0
        response = await trusted.post("{ members(first: 2) { nodes { name } } }",
                                      party="wenjiang")
        assert response.status_code == 504
        await trusted.trust.audit_log.drain()
        async with trusted.world.runtime.session_factory() as s:
            rows = (await s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))).all()
        decisions = [(json.loads(r.body)["party"], json.loads(r.body)["decision"]) for r in rows]
        assert decisions == [("wenjiang", "denied"), ("wenjiang", "denied")]
    finally:
        await trusted.trust.close()
        await trusted.world.client.aclose()


async def test_a_get_query_string_is_limited_like_a_body(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(limits=Limits(max_body_bytes=1_000))
    response = await world.client.get(
        "/graphql", params={"query": "{ __typename }" + " " * 5_000})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    ok = await world.client.get("/graphql", params={"query": "{ __typename }"})
    assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}
    await world.client.aclose()
