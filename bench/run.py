"""Benchmarks: the hub against its upstream, and fan-out to several slow sources.

    make bench                 # or: .venv/bin/python bench/run.py [--requests 300]

1. Hub vs upstream (real HTTP, separate server process): the same data asked of the
   Chengdu-style platform directly and of the hub configured over it alone.
   - single member:   GET /api/v1/members?ids=X        vs  { member(key) { ... } }
   - 50-member page:  GET /api/v1/members?ids=<50 ids> vs  { members(first: 50) { ... } }
   Prints req/s, p50 and p99 for each and the hub/upstream ratios. Aim: p50 overhead <= 2 ms.
2. Fan-out: a 50-member page whose details come from 4 sources, each answering after 50 ms.
   Baseline: one source's batch read, directly. Aim: hub <= 1.2x one source (not 4x).
Figures are ratios against a baseline measured in the same run, never absolute thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMBER_QUERY = """query($key: ID!) { member(key: $key) {
  name phone status destination { address employer occupation } } }"""
PAGE_QUERY = """{ members(first: 50) { edges { node {
  name phone status destination { address employer occupation } } } } }"""


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "rps": len(ordered) / sum(ordered),
        "p50": ordered[len(ordered) // 2] * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


async def _measure(
    call: Callable[[int], Awaitable[None]], n: int, warmup: int = 20
) -> dict[str, float]:
    for i in range(warmup):
        await call(i)
    samples = []
    for i in range(n):
        start = time.perf_counter()
        await call(i)
        samples.append(time.perf_counter() - start)
    return _stats(samples)


def _row(name: str, s: dict[str, float]) -> str:
    return (
        f"  {name:<34} {s['rps']:>8.0f} req/s   p50 {s['p50']:>7.2f} ms   p99 {s['p99']:>7.2f} ms"
    )


def _compare(label: str, upstream: dict[str, float], hub: dict[str, float]) -> list[str]:
    return [
        _row(f"{label}: upstream direct", upstream),
        _row(f"{label}: through the hub", hub),
        f"  {label}: ratio hub/upstream p50 {hub['p50'] / upstream['p50']:.2f}x, "
        f"overhead p50 {hub['p50'] - upstream['p50']:+.2f} ms, "
        f"throughput {hub['rps'] / upstream['rps']:.2f}x",
    ]


async def hub_vs_upstream(requests: int, members: int) -> list[str]:
    # started once, before any timing: the servers run in their own process, not this loop
    child = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, str(ROOT / "bench" / "_servers.py"), str(members)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        pairs = info["pairs"]
        headers = {"Authorization": f"Bearer {info['token']}"}
        members_url = info["upstream"] + "/api/v1/members"
        async with aiohttp.ClientSession() as http:

            async def upstream_one(i: int) -> None:
                async with http.get(members_url, params={"ids": pairs[i % len(pairs)][0]},
                                    headers=headers) as r:
                    body = await r.json()
                    assert body["data"]["items"], body

            async def hub_one(i: int) -> None:
                payload = {"query": MEMBER_QUERY, "variables": {"key": pairs[i % len(pairs)][1]}}
                async with http.post(info["hub"], json=payload) as r:
                    body = await r.json()
                    assert body["data"]["member"] and "errors" not in body, body

            first_50 = ",".join(p[0] for p in sorted(pairs)[:50])

            async def upstream_page(i: int) -> None:
                async with http.get(members_url, params={"ids": first_50}, headers=headers) as r:
                    assert len((await r.json())["data"]["items"]) == 50

            async def hub_page(i: int) -> None:
                async with http.post(info["hub"], json={"query": PAGE_QUERY}) as r:
                    body = await r.json()
                    assert len(body["data"]["members"]["edges"]) == 50 and "errors" not in body, (
                        body
                    )

            lines = [f"Hub vs upstream ({requests} sequential requests each, {members} members):"]
            lines += _compare("single member", await _measure(upstream_one, requests),
                              await _measure(hub_one, requests))
            lines += _compare("50-member page", await _measure(upstream_page, requests),
                              await _measure(hub_page, requests))
            return lines
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=30)


async def fan_out(rounds: int, latency: float = 0.05, sources: int = 4) -> list[str]:

    from bench.fanout import build_fanout_world
    from connectors.base import ReadRequest

    with tempfile.TemporaryDirectory() as tmp:
        world = await build_fanout_world(Path(tmp), sources=sources, members=50, latency=latency)
        try:
            one = world.connectors[0]
            keys = world.local_ids

            async def direct(i: int) -> None:
                result = await one.read(ReadRequest(entity="member", keys=keys))
                assert len(result.records) == 50

            async with world.client() as client:

                async def through_hub(i: int) -> None:
                    r = await client.post("/graphql", json={"query": PAGE_QUERY})
                    body = r.json()
                    assert len(body["data"]["members"]["edges"]) == 50 and "errors" not in body, (
                        body
                    )

                baseline = await _measure(direct, rounds, warmup=3)
                calls_before = [len(c.calls) for c in world.connectors]
                hub = await _measure(through_hub, rounds, warmup=3)
                per_request = [
                    (len(c.calls) - b) / (rounds) for c, b in zip(world.connectors, calls_before)
                ]
        finally:
            await world.aclose()
    return [
        f"Fan-out: 50-member page, details from {sources} sources each answering after "
        f"{latency * 1000:.0f} ms ({rounds} requests):",
        _row("one source, read directly", baseline),
        _row(f"hub over {sources} sources", hub),
        f"  ratio hub/one source p50 {hub['p50'] / baseline['p50']:.2f}x "
        f"(sequential would be ~{sources:.0f}x); calls per source per request: "
        + ", ".join(f"{c:.0f}" for c in per_request),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--fanout-rounds", type=int, default=40)
    args = parser.parse_args()
    for line in await hub_vs_upstream(args.requests, args.members):
        print(line, flush=True)
    print(flush=True)
    for line in await fan_out(args.fanout_rounds):
        print(line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
