"""The front-end loop over real HTTP (issue 12 §4): a development-mode hub configured like a
real one (Settings with [trust] and `dev_party_keys`, not the demo) mints tokens for its
parties, answers introspection with them (GraphiQL's Docs panel), serves /schema.graphql, and
answers browsers of the allowed origins with CORS, preflight included, refusals too."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.app import create_app
from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.contracts.keys import new_key_files
from hub.errors import ConfigError
from hub.settings import Limits, Mode, RateLimits, Settings, load_settings
from tests.api.served import serve
from tests.api.trusted import PARTIES

ORIGIN = "http://app.example.test:5173"
INTROSPECTION = "query IntrospectionQuery { __schema { queryType { name } } }"


def dev_settings(tmp_path: Path, demo: DemoTrust, *, mode: Mode | None = None,
                 keys: tuple[Path, ...] | None = None, **limits: Any) -> Settings:
    base = Settings.for_demo(database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
                             limits=Limits(**limits), mode=mode)
    hub = dataclasses.replace(
        base.hub, cors_origins=(ORIGIN,),
        dev_party_keys=keys if keys is not None else tuple(
            path for _, path in demo.party_keys.values()))
    return dataclasses.replace(base, hub=hub, trust=demo.trust_config())


@pytest.fixture
def demo(tmp_path: Path) -> DemoTrust:
    return build_demo_trust(tmp_path / "trust", PARTIES)


@pytest.fixture
async def hub(tmp_path: Path, demo: DemoTrust) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(dev_settings(tmp_path, demo)), lifespan="on") as url, \
            httpx.AsyncClient(base_url=url) as client:
        yield client


async def _token(hub: httpx.AsyncClient, party: str, **params: str) -> str:
    answer = await hub.get("/dev/token", params={"party": party, **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return str(answer.json()["token"])


async def test_dev_token_route_signs_for_every_configured_party(
        hub: httpx.AsyncClient) -> None:
    for party, _, _ in PARTIES:
        token = await _token(hub, party)
        r = await hub.post("/graphql", json={"query": "{ sources { name } }"},
                           headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and "errors" not in r.json(), r.text
        replay = await hub.post("/graphql", json={"query": "{ sources { name } }"},
                                headers={"Authorization": f"Bearer {token}"})
        assert replay.status_code == 401  # single use, as any token
    unknown = await hub.get("/dev/token", params={"party": "nobody"})
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert sorted(unknown.json()["parties"]) == sorted(p for p, _, _ in PARTIES)
    own = await _token(hub, "wenjiang", purpose="own-records")
    ok = await hub.post("/graphql", json={"query": "{ sources { name } }"},
                        headers={"Authorization": f"Bearer {own}"})
    assert ok.status_code == 200
    bad = await hub.get("/dev/token", params={"party": "wenjiang", "purpose": "NOT A PURPOSE"})
    assert bad.status_code == 400


async def test_introspection_carries_a_dev_token_and_graphiql_picks_parties(
        hub: httpx.AsyncClient) -> None:
    """Under [trust] introspection without a token is refused (the old "Error fetching
    schema"); with the picker's fresh token it is answered."""
    bare = await hub.post("/graphql", json={"query": INTROSPECTION})
    assert bare.status_code == 401
    token = await _token(hub, "luxian")
    r = await hub.post("/graphql", json={"query": INTROSPECTION},
                       headers={"Authorization": f"Bearer {token}"})
    assert r.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    page = (await hub.get("/")).text
    assert '<select id="party">' in page and 'value="wenjiang"' in page
    assert "/dev/token?party=" in page


async def test_schema_graphql_in_development_and_production(
        hub: httpx.AsyncClient, tmp_path: Path, demo: DemoTrust) -> None:
    from hub.api.schema import print_sdl

    dev = await hub.get("/schema.graphql")
    assert dev.status_code == 200 and dev.text == print_sdl()
    assert dev.headers["content-type"].startswith("application/graphql")
    prod_settings = dev_settings(tmp_path / "prod", demo, mode=Mode(), keys=())
    (tmp_path / "prod").mkdir()
    async with serve(create_app(prod_settings), lifespan="on") as url, \
            httpx.AsyncClient(base_url=url) as prod:
        refused = await prod.get("/schema.graphql")
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "type Query" not in refused.text
        token = demo.token_for("wenjiang")
        served = await prod.get("/schema.graphql", headers={"Authorization": f"Bearer {token}"})
        assert served.status_code == 200 and served.text == print_sdl()
        # production serves no token route, whatever is configured
        assert (await prod.get("/dev/token", params={"party": "wenjiang"})).status_code == 404


async def test_cors_preflight_and_answers_for_allowed_origins_only(
        hub: httpx.AsyncClient) -> None:
    preflight = await hub.options("/graphql", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-request-id"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    other = await hub.options("/graphql", headers={
        "Origin": "http://evil.example.test", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    token = await _token(hub, "wenjiang")
    answer = await hub.post("/graphql", json={"query": "{ sources { name } }"}, headers={
        "Origin": ORIGIN, "Authorization": f"Bearer {token}"})
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed and "x-request-id" in exposed
    refused = await hub.post("/graphql", json={"query": "{ sources { name } }"},
                             headers={"Origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN  # readable by the page
    stranger = await hub.post("/graphql", json={"query": "{ sources { name } }"},
                              headers={"Origin": "http://evil.example.test"})
    assert "access-control-allow-origin" not in stranger.headers


async def test_429_carries_cors_headers_and_retry_after(tmp_path: Path,
                                                        demo: DemoTrust) -> None:
    settings = dev_settings(tmp_path, demo, rate=RateLimits(address_per_second=0.01,
                                                            address_burst=1))
    async with serve(create_app(settings), lifespan="on") as url, \
            httpx.AsyncClient(base_url=url) as client:
        await client.post("/graphql", json={"query": "{ __typename }"})
        limited = await client.post("/graphql", json={"query": "{ __typename }"},
                                    headers={"Origin": ORIGIN})
    assert limited.status_code == 429
    assert limited.headers["access-control-allow-origin"] == ORIGIN
    assert int(limited.headers["retry-after"]) >= 1


async def test_no_cors_headers_without_an_allow_list(tmp_path: Path, demo: DemoTrust) -> None:
    settings = dev_settings(tmp_path, demo)
    settings = dataclasses.replace(settings, hub=dataclasses.replace(settings.hub,
                                                                     cors_origins=()))
    async with serve(create_app(settings), lifespan="on") as url, \
            httpx.AsyncClient(base_url=url) as client:
        r = await client.options("/graphql", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in r.headers
        r = await client.post("/graphql", json={"query": "{ __typename }"},
                              headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in r.headers


async def test_a_dev_key_the_registry_does_not_know_stops_the_start(
        tmp_path: Path, demo: DemoTrust) -> None:
    stranger = new_key_files(tmp_path / "other", "stranger-1").private
    app = create_app(dev_settings(tmp_path, demo, keys=(stranger,)))
    with pytest.raises(ConfigError, match="key of no party"):
        async with app.router.lifespan_context(app):
            pass


def test_settings_read_the_front_end_and_rate_keys(tmp_path: Path) -> None:
    key = new_key_files(tmp_path / "keys", "p-1").private
    config = tmp_path / "yanxing.toml"
    secret = "s" * 40
    config.write_text(f"""
[hub]
secret = "{secret}"
mode = "development"
cors_origins = ["http://127.0.0.1:5173", "https://app.example.gov.cn"]
redis_url = "redis://127.0.0.1:6379/2"
dev_party_keys = ["keys/p-1.key.pem"]
[limits]
max_concurrent_requests = 8
[limits.rate]
party_per_second = 5.0
[limits.rate.parties.wenjiang]
per_second = 50
burst = 80
""", encoding="utf-8")
    settings = load_settings(config, env={})
    assert settings.hub.cors_origins == ("http://127.0.0.1:5173", "https://app.example.gov.cn")
    assert settings.hub.redis_url == "redis://127.0.0.1:6379/2"
    assert settings.hub.dev_party_keys == (key.resolve(),)
    assert settings.limits.max_concurrent_requests == 8
    assert settings.limits.rate.party_per_second == 5.0
    assert settings.limits.rate.for_party("wenjiang").burst == 80
    assert settings.limits.rate.for_party("luxian").burst == 100
    config.write_text(f"""
[hub]
secret = "{secret}"
cors_origins = ["*", "http://x.test/path"]
redis_url = "http://not-redis"
dev_party_keys = ["missing.pem"]
[limits]
max_queued_requests = -1
[limits.rate]
party_burst = 0
bogus = 1
[limits.rate.parties.wenjiang]
per_second = 5
""", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config, env={})
    problems = "\n".join(info.value.problems)
    for expected in ("'*' is not an origin", "'http://x.test/path' is not an origin",
                     "hub.redis_url must be a redis://", "development mode only",
                     "dev_party_keys: file not found", "max_queued_requests = -1",
                     "limits.rate.party_burst = 0", "unknown key 'bogus'",
                     "limits.rate.parties.wenjiang needs per_second and burst"):
        assert expected in problems, (expected, problems)
