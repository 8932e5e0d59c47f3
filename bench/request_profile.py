"""Profile the hub's request path in one process (issue 11): what one request costs.

    .venv/bin/python bench/request_profile.py [--query member|page] [--requests 300]
        [--concurrency 1] [--profile none|calls|cprofile] [--stats FILE]

Starts the demo world of bench/gateway.py (its Chengdu-style platform, the hub configuration
under the demo's signed contracts with audit on, fresh single-use tokens) in a child process,
builds the hub's app here with `create_app` as `yanxing serve` does, and sends the benchmark's
one-member or 50-member-page query through httpx's ASGI transport (no sockets, no uvicorn), a
fresh token per request. Prints the CPU milliseconds per request (process and main thread; the
rest is aiosqlite's thread), the SQL statements of one request, and with `--profile calls` the
Python function calls per request: unlike times, that count hardly moves when other work
shares the machine, so it compares two versions of the code on a busy one. `--profile
cprofile` prints cProfile's top functions (use py-spy for where the wall time goes:
`py-spy record -f raw -- python bench/request_profile.py ...`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway import HUB_MEMBER, HUB_PAGE, World  # noqa: E402


async def run(args: argparse.Namespace, info: dict[str, Any], tokens: list[str]) -> None:
    import httpx
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from hub.app import create_app
    from hub.settings import load_settings

    settings = load_settings(Path(info["config"]))
    app = create_app(settings, trust=settings.trust, migrate=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            async def one(query: str, variables: dict[str, Any]) -> Any:
                answer = await client.post(
                    "/graphql", json={"query": query, "variables": variables},
                    headers={"Authorization": "Bearer " + tokens.pop()})
                body = answer.json()
                if answer.status_code != 200 or "errors" in body:
                    raise SystemExit(f"profile: a bad answer: {answer.text[:300]}")
                return body

            first = await one("{ members(first: 100) { nodes { key } } }", {})
            keys = [n["key"] for n in first["data"]["members"]["nodes"] if n]
            query = HUB_PAGE if args.query == "page" else HUB_MEMBER

            async def batch(n: int) -> None:
                slots = asyncio.Semaphore(args.concurrency)

                async def request(i: int) -> None:
                    async with slots:
                        await one(query, {} if args.query == "page"
                                  else {"k": keys[i % len(keys)]})
                await asyncio.gather(*(request(i) for i in range(n)))

            await batch(20)  # warm: caches, connections, the policy
            profiler = cProfile.Profile()
            cpu, thread, wall = time.process_time(), time.thread_time(), time.perf_counter()
            if args.profile != "none":
                profiler.enable()
            await batch(args.requests)
            profiler.disable()
            n = args.requests
            cpu, thread = time.process_time() - cpu, time.thread_time() - thread
            wall = time.perf_counter() - wall

            # after the measured requests: once an engine has had a listener, SQLAlchemy
            # dispatches events on every statement for good (~40 calls a request), and the
            # statements hub.store.direct runs through the SQLite driver go through SQLAlchemy
            # (the same SQL), so the listener sees them
            statements: list[str] = []

            def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
                statements.append(" ".join(statement.split())[:110])
            event.listen(Engine, "before_cursor_execute", seen)
            await batch(1)
            await asyncio.sleep(0.3)  # the audit write of that request
            event.remove(Engine, "before_cursor_execute", seen)
    print(f"{args.query}, c={args.concurrency}, {n} requests: CPU {cpu * 1000 / n:.2f} ms/req "
          f"(main thread {thread * 1000 / n:.2f}), wall {wall * 1000 / n:.2f} ms/req")
    print(f"SQL statements while one request ran ({len(statements)}; the audit write and "
          "any background poll included):")
    for statement in statements:
        print(f"  {statement}")
    if args.profile != "none":
        stats = pstats.Stats(profiler)
        print(f"Python function calls per request: {stats.total_calls / n:.0f}")  # type: ignore[attr-defined]
        if args.profile == "cprofile":
            stats.sort_stats("tottime").print_stats(40)
        if args.stats:
            stats.dump_stats(args.stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--query", choices=("member", "page"), default="member")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--profile", choices=("none", "calls", "cprofile"), default="none")
    parser.add_argument("--stats", type=Path, default=None,
                        help="also write the profile (pstats) to this file, e.g. for snakeviz")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="yanxing-profile-"))
    with World(work / "world", 2000, "sqlite+aiosqlite:///hub.db", "memory") as world:
        info = world.info
        os.environ.update(info["env"])
        os.chdir(Path(info["config"]).parent)
        asyncio.run(run(args, info, world.tokens(args.requests + 100)))


if __name__ == "__main__":
    main()
