"""Benchmark: the same queries with contract enforcement + audit on vs off (issue 3 §6).

    .venv/bin/python bench/enforcement.py [--requests 200] [--members 600]

Starts the demo world (four systems on 127.0.0.1, synced into SQLite), then serves the same
index and sources twice, in process (httpx ASGITransport):
- off: stage 1 (anonymous caller, masking policy, no audit);
- on:  party token verified (Ed25519, replay cache), contract policy built from the store per
       request, owner-aware scope, per-source field requests, one audit entry per request
       (hash chain, signed checkpoint every 100).
Tokens are minted before timing (minting is the client's cost). Each query runs `--requests`
times per mode, interleaved, and the ratio on/off of mean latency is printed. Aim: <= 1.15.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = {
    "member profile": """query($k: ID!) { member(key: $k) { name birthDate status
        destination { region { name } employer address }
        fourClarities { willingVillageCadre } } }""",
    "20-member page": """{ members(filter: {originRegion: "511502"}, first: 20) { totalCount
        nodes { key name status destination { employer } } } }""",
    "organisation + members": """{ organizations(first: 3) { nodes { name
        members(first: 5) { totalCount nodes { name status } } } } }""",
}
PARTY = "xuzhou-county-org"


async def _time(client: httpx.AsyncClient, query: str, variables: dict[str, str],
                token: str | None) -> float:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    start = time.perf_counter()
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers=headers)
    elapsed = time.perf_counter() - start
    body = response.json()
    if response.status_code != 200 or body.get("data") is None:
        raise SystemExit(f"bench query failed: {response.status_code} {response.text[:300]}")
    return elapsed


async def main(requests: int, members: int) -> None:
    from hub.app import create_app, open_runtime
    from hub.demo.launch import start_demo

    with tempfile.TemporaryDirectory() as tmp:
        async with start_demo(Path(tmp) / "demo", port=0, members=members) as hub:
            assert hub.trust is not None
            trust = hub.trust
            async with open_runtime(hub.settings) as off_rt, \
                    open_runtime(hub.settings, trust=trust.trust_config()) as on_rt:
                # the baseline has no trust: development mode (production would refuse it)
                off_app = create_app(off_rt, mode=hub.settings.hub.mode)
                off = httpx.AsyncClient(transport=httpx.ASGITransport(app=off_app),
                                        base_url="http://hub")
                on = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(on_rt)),
                                       base_url="http://hub")
                page = await on.post("/graphql", json={"query": QUERIES["20-member page"]},
                                     headers={"Authorization": "Bearer " +
                                              trust.token_for(PARTY)})
                key = page.json()["data"]["members"]["nodes"][0]["key"]
                variables = {"k": key}
                print(f"demo world: {members} members; party {PARTY}; {requests} requests "
                      "per query and mode\n")
                print(f"{'query':<26}{'off ms':>9}{'on ms':>9}{'ratio':>8}")
                ratios = []
                for name, query in QUERIES.items():
                    tokens = [trust.token_for(PARTY) for _ in range(requests + 10)]
                    for _ in range(10):  # warm up both
                        await _time(off, query, variables, None)
                        await _time(on, query, variables, tokens.pop())
                    t_off, t_on = [], []
                    for _ in range(requests):
                        t_off.append(await _time(off, query, variables, None))
                        t_on.append(await _time(on, query, variables, tokens.pop()))
                    m_off, m_on = statistics.mean(t_off) * 1e3, statistics.mean(t_on) * 1e3
                    ratios.append(m_on / m_off)
                    print(f"{name:<26}{m_off:>9.2f}{m_on:>9.2f}{m_on / m_off:>8.3f}")
                print(f"\ngeometric mean ratio on/off: "
                      f"{statistics.geometric_mean(ratios):.3f}  (aim <= 1.15)")
                await off.aclose()
                await on.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--members", type=int, default=600)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.members))
