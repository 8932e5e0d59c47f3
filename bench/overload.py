"""Overload on loopback: the hub at its concurrency limit, then at 4x it (issue 12 §3).

    .venv/bin/python bench/overload.py [--seconds 20] [--capacity 8] [--factor 4]

The hub runs in its own process (bench/_servers.py: the Chengdu-style platform and a hub over
it, production mode) with `max_concurrent_requests = CAPACITY` and `max_queued_requests =
CAPACITY`; rate limits are off unless `--rate-limits` (a loopback load test is one address,
and what is measured here is shedding). Closed-loop aiohttp clients ask a 20-member page with
live fields, first CAPACITY of them, then FACTOR x CAPACITY. For each phase it prints
throughput, p50/p99 of the admitted (HTTP 200) requests and the mix of answers by status and
`extensions.code`. The point: at 4x, the admitted requests' p99 stays bounded (near the 1x
figure plus at most the queue wait) and every other answer is a 429 or a 503, never an error.
Bounded to 60 s in all; exits 1 if any answer was not 200, 429 or 503.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_QUERY = """query Page { members(first: 20) { edges { node {
  name status destination { employer occupation } } } } }"""
ALLOWED = {200, 429, 503}


def _percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _phase(url: str, clients: int, seconds: float, *, honour_retry_after: bool = True
                 ) -> dict[str, Any]:
    admitted: list[float] = []
    mix: Counter[str] = Counter()
    stop = time.monotonic() + seconds

    async def client(http: aiohttp.ClientSession) -> None:
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                async with http.post(url, json={"query": PAGE_QUERY}) as response:
                    body = await response.json(content_type=None)
                    status = response.status
            except (aiohttp.ClientError, ValueError) as exc:
                mix[f"client error {type(exc).__name__}"] += 1
                continue
            elapsed = time.perf_counter() - started
            errors = body.get("errors") if isinstance(body, dict) else None
            code = (errors[0].get("extensions") or {}).get("code") if errors else None
            if status == 200 and not errors:
                admitted.append(elapsed)
                mix["200 ok"] += 1
            else:
                mix[f"{status} {code}"] += 1
                if status in (429, 503):
                    # as hub.client does: wait what Retry-After says (--no-backoff: a
                    # client that does not, retrying after 50 ms, the worst case)
                    wait = float(response.headers.get("Retry-After", "1"))
                    await asyncio.sleep(wait if honour_retry_after else 0.05)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        began = time.monotonic()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        took = time.monotonic() - began
    return {"clients": clients, "seconds": took, "admitted": admitted, "mix": mix}


def _report(label: str, phase: dict[str, Any]) -> list[str]:
    admitted = phase["admitted"]
    total = sum(phase["mix"].values())
    lines = [f"{label}: {phase['clients']} clients for {phase['seconds']:.1f} s, {total} answers, "
             f"{len(admitted) / phase['seconds']:.0f} admitted/s",
             f"  admitted p50 {_percentile(admitted, 0.5) * 1000:.1f} ms, "
             f"p99 {_percentile(admitted, 0.99) * 1000:.1f} ms"]
    for kind, count in sorted(phase["mix"].items()):
        lines.append(f"  {kind:<28} {count:>7}  ({count / max(total, 1):.1%})")
    return lines


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="length of the overload phase (the 1x phase is a third of it)")
    parser.add_argument("--capacity", type=int, default=8, help="max_concurrent_requests")
    parser.add_argument("--factor", type=int, default=4, help="clients = factor x capacity")
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--rate-limits", action="store_true",
                        help="keep the default rate limits (loopback: one address)")
    parser.add_argument("--no-backoff", action="store_true",
                        help="refused clients retry after 50 ms instead of Retry-After")
    parser.add_argument("--unbounded", action="store_true",
                        help="no concurrency limit (max_concurrent_requests = 100000), to "
                        "compare: every request is admitted and they all slow down")
    args = parser.parse_args()
    seconds = max(1.0, min(args.seconds, 40.0))  # with the 1x phase and startup: <= 60 s
    limit = 100_000 if args.unbounded else args.capacity
    extra = (f"[limits]\nmax_concurrent_requests = {limit}\n"
             f"max_queued_requests = {args.capacity}\nqueue_timeout_seconds = 0.5\n")
    if not args.rate_limits:
        extra += "[limits.rate]\naddress_per_second = 0.0\nparty_per_second = 0.0\n"
    # started once, before any timing: the servers run in their own process, not this loop
    child = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, str(ROOT / "bench" / "_servers.py"), str(args.members), extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        url = info["hub"]
        await _phase(url, args.capacity, 1.0)  # warm-up: connections, caches
        base = await _phase(url, args.capacity, seconds / 3)
        over = await _phase(url, args.capacity * args.factor, seconds,
                            honour_retry_after=not args.no_backoff)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)
    print(f"hub: max_concurrent_requests = {limit}, max_queued_requests = "
          f"{args.capacity}, queue_timeout_seconds = 0.5; rate limits "
          f"{'on' if args.rate_limits else 'off'}; refused clients wait "
          f"{'50 ms' if args.no_backoff else 'Retry-After'}")
    print("\n".join(_report("at capacity (1x)", base)))
    print("\n".join(_report(f"overload ({args.factor}x)", over)))
    bad = {kind: n for phase in (base, over) for kind, n in phase["mix"].items()
           if not kind[0].isdigit() or int(kind.split()[0]) not in ALLOWED}
    ratio = _percentile(over["admitted"], 0.99) / _percentile(base["admitted"], 0.99)
    print(f"admitted p99 at {args.factor}x / at 1x: {ratio:.2f}")
    if bad:
        print(f"answers other than 200/429/503: {bad}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
