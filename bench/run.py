"""Benchmarks: every aim of issue 11 on requests, in one run, one table, ratios and verdicts.

    make bench                 # or: .venv/bin/python bench/run.py [--quick]

Each figure is held against a baseline measured in the same run (ratios, never absolute
thresholds); every server runs in its own process on this machine's shared cores:
1. hub vs Hive Gateway (bench/gateway.py, which runs these rows alone too): one member at c=32
   and c=1, a 50-member page at c=32, each through the upstream directly, Hive Gateway 2.15 and
   the hub as a user runs it (`yanxing serve`, the demo's contracts, audit on, a fresh
   single-use token per request), driven by wrk.
2. memory: the hub's resident memory (all its processes) sampled every second of a 60 s
   one-member run at c=32 right after those rows; growth from the first 10 s to the last 10 s.
3. workers: the same one-member load against `serve --workers 2` and against one worker, both
   on PostgreSQL (a database of the run's own) with the replay cache there, one after another.
4. fan-out (in process): a 50-member page whose details come from 4 sources each answering
   after 50 ms, against one source's batch read of the same 50; the hub over one such source
   is measured too, so what the fan-out itself costs shows apart from the page's own cost.
Then one line per aim: met or not met. `--quick` shortens every run, to try the bench out (its
figures are noisier; the aims are judged on a full run).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway import (  # noqa: E402
    HUB_MEMBER,
    ROWS,
    TOKENS_PER_SECOND,
    Result,
    World,
    hub_run,
    postgres_database,
    run_rows,
    servers,
    session_rss,
    start_hub,
    stop,
    table_lines,
    visible_pairs,
)

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
    samples, cpu = [], []
    for i in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        await call(i)
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    # this process's CPU per call, the median (client, hub and sources share the process):
    # unlike the wall-clock p50, it hardly depends on what else the machine runs
    return {**_stats(samples), "cpu": sorted(cpu)[len(cpu) // 2] * 1000}


@dataclass
class FanOut:
    """p50s in ms: one source read directly, the hub over all sources, the hub over one; and
    the median CPU ms per request of the direct read and of the hub over all sources."""

    sources: int
    latency_ms: float
    direct: float
    hub: float
    hub_one_source: float
    calls_per_source: list[float]
    direct_cpu: float = 0.0
    hub_cpu: float = 0.0


async def _hub_page(sources: int, rounds: int, latency: float, directory: Path
                    ) -> tuple[dict[str, float], dict[str, float], list[float]]:
    """(one source's direct read stats, the hub's page stats, calls per source per request)
    in a fan-out world of `sources` sources."""
    from bench.fanout import build_fanout_world
    from connectors.base import ReadRequest

    world = await build_fanout_world(directory, sources=sources, members=50, latency=latency)
    try:
        one = world.connectors[0]

        async def direct(i: int) -> None:
            result = await one.read(ReadRequest(entity="member", keys=world.local_ids))
            assert len(result.records) == 50

        async with world.client() as client:

            async def through_hub(i: int) -> None:
                r = await client.post("/graphql", json={"query": PAGE_QUERY})
                body = r.json()
                assert len(body["data"]["members"]["edges"]) == 50 and "errors" not in body, body

            baseline = await _measure(direct, rounds, warmup=3)
            for i in range(3):  # warm-up, outside the count of calls per request
                await through_hub(i)
            calls_before = [len(c.calls) for c in world.connectors]
            hub = await _measure(through_hub, rounds, warmup=0)
            per_request = [(len(c.calls) - b) / rounds
                           for c, b in zip(world.connectors, calls_before)]
    finally:
        await world.aclose()
    return baseline, hub, per_request


async def fan_out(rounds: int, latency: float = 0.05, sources: int = 4) -> FanOut:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "one").mkdir()
        direct, hub, calls = await _hub_page(sources, rounds, latency, Path(tmp))
        _, hub_one, _ = await _hub_page(1, rounds, latency, Path(tmp) / "one")
    return FanOut(sources, latency * 1000, direct["p50"], hub["p50"], hub_one["p50"], calls,
                  direct["cpu"], hub["cpu"])


@dataclass
class Memory:
    """The hub's RSS over a load run: mean of the first and of the last `window` seconds."""

    seconds: int
    window: float
    first: float
    last: float
    run: Result

    @property
    def growth(self) -> float:
        return self.last / self.first - 1


def memory_run(world: World, hub_url: str, pairs: list[tuple[str, str]], session: int,
               seconds: int, rate: float, work: Path) -> Memory:
    """One-member load at c=32 for `seconds`, the hub's RSS (every process of its session)
    sampled about once a second."""
    samples: list[tuple[float, int]] = []
    start = time.monotonic()

    def tick() -> None:
        samples.append((time.monotonic() - start, session_rss(session)))

    tick()
    run = hub_run(world, hub_url, HUB_MEMBER, [{"k": key} for _, key in pairs], session, 32,
                  seconds, work, rate=rate, tick=tick)
    window = min(10.0, seconds / 4)
    first = [rss for t, rss in samples if t <= window]
    last = [rss for t, rss in samples if t >= seconds - window]
    if not last:  # wrk ended a little early: its last samples stand for the end
        last = [rss for _, rss in samples[-max(1, int(window)):]]
    return Memory(seconds, window, sum(first) / len(first), sum(last) / len(last), run)


def workers_rows(work: Path, members: int, duration: int) -> dict[int, Result]:
    """The one-member load at c=32 against one worker and against `--workers 2`, both on
    PostgreSQL with the replay cache there (what several workers need), one after another;
    each warmed by a 1 s run first (fresh processes, empty caches)."""
    out: dict[int, Result] = {}
    with postgres_database() as url, servers(work, members, url, "database",
                                             hive=False) as (world, _, _):
        pairs: list[tuple[str, str]] = []
        for workers in (1, 2):
            hub, hub_url = start_hub(world, workers)
            try:
                pairs = pairs or visible_pairs(world, hub_url)
                variables = [{"k": key} for _, key in pairs]
                hub_run(world, hub_url, HUB_MEMBER, variables, hub.pid, 32, 1, work)
                out[workers] = hub_run(world, hub_url, HUB_MEMBER, variables, hub.pid, 32,
                                       duration, work)
            finally:
                stop(hub)
    return out


def _rate(r: Result, p99: bool = True) -> str:
    tail = f", p99 {r.p99:,.0f} ms" if p99 else ""
    return f"{r.rps:,.0f} req/s, p50 {r.p50:,.1f} ms{tail}"


def report(rows: dict[str, dict[str, Result]], memory: Memory, workers: dict[int, Result],
           fan: FanOut) -> list[str]:
    """The table (markdown, for the closing note), then one verdict per aim."""
    one, c1, page = (rows[label] for label, _, _ in ROWS)
    r1, r1_p99 = one["hub"].rps / one["hive"].rps, one["hub"].p99 / one["hive"].p99
    over_source = c1["hub"].p50 - c1["upstream"].p50
    page_ratio = page["hub"].rps / page["hive"].rps
    fan_ratio = fan.hub / fan.direct
    scale = workers[2].rps / workers[1].rps
    mb = 1024 * 1024
    table = [
        "| row | baseline | Hive Gateway | hub | ratio |",
        "|---|---|---|---|---|",
        f"| one member, c=32 | upstream {_rate(one['upstream'], False)} | {_rate(one['hive'])} "
        f"| {_rate(one['hub'])} | hub/Hive {r1:.2f}x req/s, {r1_p99:.2f}x p99 |",
        f"| one member, c=1 | upstream p50 {c1['upstream'].p50:.2f} ms | p50 "
        f"{c1['hive'].p50:.2f} ms | p50 {c1['hub'].p50:.2f} ms | hub/Hive "
        f"{c1['hub'].p50 / c1['hive'].p50:.2f}x p50, {over_source:+.2f} ms over the source |",
        f"| 50-member page, c=32 | upstream {_rate(page['upstream'], False)} | "
        f"{_rate(page['hive'])} | {_rate(page['hub'])} | hub/Hive {page_ratio:.2f}x req/s |",
        f"| fan-out, {fan.sources} sources x {fan.latency_ms:.0f} ms | one source read "
        f"directly, p50 {fan.direct:.1f} ms | | p50 {fan.hub:.1f} ms (over one source: "
        f"{fan.hub_one_source:.1f} ms; reads per source per request: "
        f"{', '.join(f'{c:g}' for c in fan.calls_per_source)}) | {fan_ratio:.2f}x one source |",
        f"| CPU per request (p50), fan-out | one source read directly {fan.direct_cpu:.2f} ms "
        f"| | {fan.hub_cpu:.2f} ms (client and sources included) | ({fan.latency_ms:.0f} ms "
        f"+ CPU) / one source: {(fan.latency_ms + fan.hub_cpu) / fan.direct:.2f}x (no wait "
        "for a core) |",
        f"| workers, PostgreSQL, one member c=32 | 1 worker {_rate(workers[1])}, CPU "
        f"{workers[1].cpu_ms:.2f} ms/req | | 2 workers {_rate(workers[2])}, CPU "
        f"{workers[2].cpu_ms:.2f} ms/req | {scale:.2f}x |",
        f"| memory, one member c=32, {memory.seconds} s | | | RSS {memory.first / mb:,.0f} MB "
        f"(first {memory.window:.0f} s) -> {memory.last / mb:,.0f} MB (last "
        f"{memory.window:.0f} s), {memory.run.rps:,.0f} req/s | {memory.growth:+.1%} |",
        f"| CPU per request, one member c=32 | upstream {one['upstream'].cpu_ms:.2f} ms | "
        f"{one['hive'].cpu_ms:.2f} ms | {one['hub'].cpu_ms:.2f} ms | hub/Hive "
        f"{one['hub'].cpu_ms / one['hive'].cpu_ms:.1f}x |",
        f"| CPU per request, page | upstream {page['upstream'].cpu_ms:.2f} ms | "
        f"{page['hive'].cpu_ms:.2f} ms | {page['hub'].cpu_ms:.2f} ms | hub/Hive "
        f"{page['hub'].cpu_ms / page['hive'].cpu_ms:.1f}x |",
    ]
    aims = [
        (r1 >= 2 and r1_p99 <= 0.5, f"one member, c=32: hub req/s >= 2x Hive's ({r1:.2f}x) "
         f"and p99 <= 0.5x Hive's ({r1_p99:.2f}x)"),
        (over_source <= 2, f"one member, c=1: hub p50 <= the source's p50 + 2 ms "
         f"({over_source:+.2f} ms)"),
        (page_ratio >= 1, f"50-member page, c=32: hub req/s >= Hive's ({page_ratio:.2f}x)"),
        (fan_ratio <= 1.1, f"fan-out: hub p50 <= 1.1x one source's ({fan_ratio:.2f}x; the "
         f"{fan.sources}-source fan-out adds {fan.hub - fan.hub_one_source:+.1f} ms to the hub "
         "over one source)"),
        (memory.growth < 0.10, f"memory: RSS growth over {memory.seconds} s < 10 % "
         f"({memory.growth:+.1%})"),
        (scale >= 1.6, f"workers: 2 workers >= 1.6x one worker's req/s ({scale:.2f}x)"),
    ]
    lines = [*table, "", "aims:"]
    lines += [f"  {'met    ' if met else 'NOT met'}  {text}" for met, text in aims]
    bad = {label: r.bad for label, r in (
        *((f"{label} {name}", r) for label, row in rows.items() for name, r in row.items()),
        ("memory run", memory.run), *((f"{n} worker(s)", r) for n, r in workers.items()))
        if r.bad}
    if bad:
        lines.append(f"bad answers (their runs do not count): {bad}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="short runs (3 s each, 12 s for memory, 10 fan-out requests)")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10)")
    parser.add_argument("--memory-seconds", type=int, help="the memory run (default 60)")
    parser.add_argument("--fanout-rounds", type=int, help="fan-out requests (default 40)")
    args = parser.parse_args()
    duration = args.duration or (3 if args.quick else 10)
    memory_seconds = args.memory_seconds or (12 if args.quick else 60)
    rounds = args.fanout_rounds or (10 if args.quick else 40)
    print(f"bench: {args.members} members, wrk -t1, {duration} s per run, memory over "
          f"{memory_seconds} s, {rounds} fan-out requests; hub/Hive/upstream each in its own "
          "process on this machine's shared cores", flush=True)

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        world, urls, sessions = stack.enter_context(servers(
            work, args.members, "sqlite+aiosqlite:///hub.db", "memory"))
        hub, hub_url = start_hub(world, 1)
        try:
            pairs = visible_pairs(world, hub_url)
            rows = run_rows(world, pairs, urls["hive"], hub_url, {**sessions, "hub": hub.pid},
                            duration, work)
            print("\n".join(table_lines(rows)), flush=True)
            # tokens for twice the fastest one-member rate measured, so none runs out
            rate = min(TOKENS_PER_SECOND, 2 * max(r["hub"].rps for r in rows.values()) + 50)
            memory = memory_run(world, hub_url, pairs, hub.pid, memory_seconds, rate, work)
        finally:
            stop(hub)
    with tempfile.TemporaryDirectory() as tmp:
        workers = workers_rows(Path(tmp), args.members, duration)
    fan = asyncio.run(fan_out(rounds))
    print("\n".join(report(rows, memory, workers, fan)), flush=True)


if __name__ == "__main__":
    main()
