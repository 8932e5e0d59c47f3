"""The demo's year of workflow history (hub.demo.workflows): seeded under the signed contracts,
deterministic for a seed, and served: each party's example operations answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from hub.app import create_app
from hub.demo.launch import start_demo
from hub.demo.workflows import DESTINATION, OBSERVER, ORIGIN, example_operations


async def _ask(client: httpx.AsyncClient, hub: Any, party: str, query: str) -> dict[str, Any]:
    token = hub.trust.token_for(party)
    response = await client.post("/graphql", json={"query": query},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_year_of_history_answers_every_partys_examples(tmp_path: Path) -> None:
    async with start_demo(tmp_path / "demo", port=0, members=600) as hub:
        w = hub.workflows
        assert w is not None
        assert w.activities > 10 and w.tasks > 5 and w.claims > 5 and w.points > 0
        app = create_app(hub.settings)
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=transport, base_url="http://hub") as client:
            examples = dict(example_operations(w, 2026))
            tasks = next(q for t, q in examples.items() if t.startswith("一领 tasks"))
            body = await _ask(client, hub, ORIGIN, tasks)
            assert "errors" not in body, body
            assert body["data"]["tasks"]["totalCount"] == w.tasks
            mine = await _ask(client, hub, DESTINATION, tasks)
            assert mine["data"]["tasks"]["totalCount"] == w.tasks
            points = await _ask(client, hub, ORIGIN, "{ points { totalCount totalPoints } }")
            assert points["data"]["points"]["totalPoints"] > 0
            obligations = await _ask(client, hub, ORIGIN,
                                     "{ obligations(first: 100) { nodes { state } } }")
            states = {n["state"] for n in obligations["data"]["obligations"]["nodes"]}
            assert "OVERDUE" in states and "DUE" in states
            stats = await _ask(client, hub, OBSERVER, "{ statistics(measure: MEMBERS_BY_STATUS)"
                               " { nodes { row column count suppressed } } }")
            assert "errors" not in stats, stats
            cells = stats["data"]["statistics"]["nodes"]
            assert any(c["suppressed"] for c in cells) and any(c["count"] for c in cells)
            publish = next(q for t, q in examples.items() if t.startswith("Publish a task"))
            published = await _ask(client, hub, ORIGIN, publish)
            assert published["data"]["publishTask"]["task"]["open"] is True, published
            persons = await _ask(client, hub, OBSERVER, "{ members { totalCount } }")
            assert persons["data"]["members"]["totalCount"] == 0
            life = await _ask(client, hub, DESTINATION,
                              f'{{ organizationLifeCompliance(organization: "{w.branches[0]}") '
                              "{ totalCount nodes { shortfalls } } }")
            assert "errors" not in life, life
