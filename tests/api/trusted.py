"""A trusted world for API tests: the conftest federation (county owned by `luxian`, city by
`wenjiang`) served under real signed contracts (hub.contracts.demo.build_demo_trust):

- two-party 温江—泸县 contract: wenjiang (destination, 510115) <-> luxian (origin, 510521);
- multi-party contract: wenjiang, luxian and deyang (origin, 510600, owns no source).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.contracts.trust import Trust
from tests.api.conftest import World

PARTIES = [
    ("wenjiang", "温江区委组织部（涌泉街道）", ["510115"]),
    ("luxian", "泸县委组织部", ["510521"]),
    ("deyang", "德阳市委组织部", ["510600"]),
]


@dataclass
class Trusted:
    world: World
    demo: DemoTrust
    trust: Trust

    async def post(self, query: str, variables: dict[str, Any] | None = None, *,
                   party: str | None = None, token: str | None = None,
                   purpose: str | None = None) -> Any:
        headers = {}
        if party is not None:
            token = (self.demo.token_for(party) if purpose is None
                     else self.demo.token_for(party, purpose=purpose))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await self.world.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers)

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *,
                  party: str, purpose: str | None = None) -> dict[str, Any]:
        response = await self.post(query, variables, party=party, purpose=purpose)
        assert response.status_code == 200, response.text
        return response.json()


async def make_trusted(make_world: Callable[..., Any], tmp_path: Path,
                       **kwargs: Any) -> Trusted:
    world: World = await make_world(**kwargs)
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    runtime = world.runtime
    trust = await Trust.open(demo.trust_config(checkpoint_every=5), runtime.engine,
                             runtime.session_factory, runtime.registry)
    runtime.enforcement = trust
    return Trusted(world, demo, trust)
