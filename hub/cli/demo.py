"""`yanxing demo [--port 8000] [--members 2000]`: start the demo federation and serve it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]

EXAMPLE_QUERIES = (
    (
        "Members who left 泸县 (510521), merged from origin and destination systems",
        """{
  members(filter: {originRegion: "510521"}, first: 3) {
    totalCount
    edges { node { key name idNumber phone status
      destination { region { name } employer }
      sources { system localId fields } } }
  }
}""",
    ),
    (
        "Connected systems, their health and last sync",
        "{ sources(ping: true) { name title kind side owner health { state code } sync { entity status finishedAt recordsSeen } } }",
    ),
    (
        "Data-quality issues found in the sources (nothing is dropped silently)",
        "{ dataQualityIssues(first: 5) { edges { node { system location row column code message } } } }",
    ),
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="start four simulated systems and the hub over them (SQLite), sync, serve",
        description="Starts a Chengdu-style and a Zhejiang-style REST platform, writes a village "
        "Excel ledger and a county database, syncs them into a hub on SQLite and serves GraphQL.",
    )
    parser.add_argument("--port", type=int, default=8000, help="hub port (default 8000)")
    parser.add_argument("--members", type=int, default=2000, help="synthetic members (default 2000)")
    parser.add_argument("--dir", type=Path, default=Path("var/demo"), help="working directory")
    parser.add_argument("--seed", type=int, default=7)
    parser.set_defaults(handler=run)


def _banner(hub: Any, port: int) -> str:
    url = f"http://127.0.0.1:{port}"
    lines = [
        "",
        "雁行 Yanxing demo federation is running.",
        f"  GraphQL + GraphiQL: {url}/graphql   (health: {url}/healthz, {url}/readyz)",
        f"  configuration:      {hub.config_path}",
        "",
        "Sources synced:",
    ]
    for s in hub.summaries:
        lines.append(
            f"  {s.source:<16} {s.status:<7} {s.records:>6} records  {s.linked:>5} linked  "
            f"{s.unlinked:>4} unlinked  {s.issues:>4} data issues"
        )
    for title, query in EXAMPLE_QUERIES:
        lines += ["", f"# {title}", query]
    lines += ["", "Press Ctrl+C to stop."]
    return "\n".join(lines)


async def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.app import create_app
    from hub.demo.launch import start_demo

    print("Starting the four simulated systems and syncing (about 10 seconds)...", flush=True)
    async with start_demo(args.dir, port=args.port, members=args.members, seed=args.seed) as hub:
        app = create_app(hub.settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                           lifespan="on")
        )
        print(_banner(hub, args.port), flush=True)
        await server.serve()
    return 0


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        print(f"yanxing demo: --port {args.port} is not a TCP port (1-65535)", file=sys.stderr)
        return 2
    if args.members < 10:
        print("yanxing demo: --members must be at least 10", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(args))
    except OSError as exc:
        print(f"yanxing demo: cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); "
              "pick another with --port", file=sys.stderr)
        return 2
