"""graphql-cop's probes (tests/security/cop_probes.py) find nothing against a production hub:
anonymous behind a gateway (`open_access`), under signed contracts with a valid party token on
every probe (in process), and served by `yanxing serve`'s settings-built app on a real uvicorn
server. In development mode the same probes do find GraphiQL, introspection, suggestions and
GET queries, which shows they detect what they look for."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hub.app import create_app
from hub.contracts.demo import build_demo_trust
from hub.settings import load_settings
from tests.security.cop_probes import PROBES, findings
from tests.security.production_apps import (  # noqa: F401  (pytest fixtures)
    DEVELOPMENT,
    OPEN_PRODUCTION,
    PARTIES,
    PRODUCTION,
    Hub,
    hub,
    on_uvicorn,
    trusted_hub,
    write_config,
)

NOTHING = dict.fromkeys(PROBES, False)


@pytest.mark.parametrize("probe", sorted(PROBES))
async def test_probe_finds_nothing_in_production_open_access(hub: Hub, probe: str) -> None:
    client = hub.client(OPEN_PRODUCTION)
    assert await PROBES[probe](client, hub.auth) is False


@pytest.mark.parametrize("probe", sorted(PROBES))
async def test_probe_finds_nothing_in_production_with_a_valid_token(trusted_hub: Hub,
                                                                    probe: str) -> None:
    client = trusted_hub.client(PRODUCTION)
    # the token is good: the hub answers it, so what a probe meets is the production control
    ok = await client.post("/graphql", json={"query": "{ __typename }"},
                           headers=trusted_hub.auth())
    assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}
    assert await PROBES[probe](client, trusted_hub.auth) is False


async def test_yanxing_serve_app_on_uvicorn_finds_nothing(tmp_path: Path) -> None:
    """The app `yanxing serve --config` builds from a yanxing.toml that says nothing about the
    mode: production, under [trust]."""
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    settings = load_settings(write_config(tmp_path, trust=demo))
    assert not settings.hub.mode.is_development

    def auth() -> dict[str, str]:
        return {"Authorization": f"Bearer {demo.token_for('wenjiang')}"}

    async with on_uvicorn(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            assert await findings(client, auth) == NOTHING


async def test_development_mode_is_what_the_probes_would_find(hub: Hub) -> None:
    found = await findings(hub.client(DEVELOPMENT), hub.auth)
    for probe in ("field_suggestions", "get_method_support", "detect_graphiql", "introspection"):
        assert found[probe], (probe, found)
    # refused in every mode: mutations over GET, form posts, batches, traces, and the circular
    # introspection query (graphql-core's introspection depth rule)
    for probe in ("get_based_mutation", "post_based_csrf", "batch_query", "trace_mode",
                  "unhandled_error_detection", "circular_introspection"):
        assert not found[probe], (probe, found)
