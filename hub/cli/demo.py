"""`yanxing demo [--port 8000] [--members 2000]`: start the demo federation and serve it under
signed contracts: one party per system owner, a two-party and a four-party contract, the
study platform's study records contract, a token per party, and GraphiQL with a party picker
(backed by the demo-only /demo/token).

`--port 0` takes any free port: the socket is bound before the demo is laid out, so the
configuration's public URL and the banner name the port actually served (scripts and tests
read it from the banner's first URL line)."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hub.cli._args import PORT

__all__ = ["register", "run"]

EXAMPLE_QUERIES = (
    (
        "The same query, answered per party: 叙州 (origin) sees all its members with full facts "
        "and where they work; 成都 / 浙江 (destinations) see their own and those living with "
        "them, birth dates coarsened to the year; 泸县涌水村 sees none of 叙州's. (A filter "
        "on a field a party may not see in full, such as 成都's originRegion under the "
        "four-party contract, is refused: CONTRACT_DENIED)",
        """{
  members(first: 3) {
    totalCount
    nodes { key name birthDate status
      destination { region { name } employer address }
      sources { system fields } }
  }
}""",
    ),
    (
        "四个清楚 across everything a party may see (a prohibition hides 村干部意愿 from 成都)",
        """{
  members(first: 5) {
    totalCount
    nodes { name fourClarities { destination { region { name } } work { employer }
      intendsReturnBusiness willingVillageCadre } }
  }
}""",
    ),
    (
        "学习记录 from the study platform (XML, OAuth2; auxiliary: it never overrides the "
        "county's names or phones): 叙州 reads the records and yearly hours, 成都 / 浙江 the "
        "hours only",
        """{
  members(first: 5) {
    nodes { name studyHours(year: 2024)
      studyRecords(first: 3) { totalCount nodes { course hours completedAt score } } }
  }
}""",
    ),
    (
        "The signed contracts the calling party is party to, with state and signatures",
        "{ contracts { title state parties { party role } "
        "signatures { party kid signedAt } } }",
    ),
)

def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="start five simulated systems and the hub over them (SQLite), sync, serve",
        description="Starts a Chengdu-style and a Zhejiang-style REST platform and a study "
        "platform answering XML, writes a village Excel ledger and a county database, syncs "
        "them into a hub on SQLite and serves GraphQL.",
    )
    parser.add_argument("--port", type=PORT, default=8000,
                        help="hub port (default 8000; 0: any free port, printed at start)")
    parser.add_argument(
        "--members", type=int, default=2000, help="synthetic members (default 2000)"
    )
    parser.add_argument("--dir", type=Path, default=Path("var/demo"), help="working directory")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--console-port", type=PORT, default=None,
                        help="first port of the officials' consoles, one per party (default: "
                        "the hub's port + 1, then + 2, ...; with --port 0, any free ports)")
    parser.add_argument("--no-console", action="store_true",
                        help="serve the hub only, without the officials' consoles")
    parser.set_defaults(handler=run)


def _banner(hub: Any, port: int, consoles: Sequence[Any] = ()) -> str:
    url = f"http://127.0.0.1:{port}"
    lines = [
        "",
        "雁行 Yanxing demo federation is running under signed contracts.",
        f"  GraphQL + GraphiQL: {url}/graphql   (health: {url}/healthz, {url}/readyz)",
        f"  configuration:      {hub.config_path}  (with its [trust] table)",
        "  GraphiQL: pick a party at the top; each query then carries a fresh token of it.",
    ]
    if consoles:
        lines += ["", "官员工作台 (officials' consoles), one per party; sign in with the user and "
                  "password shown (new passwords every run):"]
        lines += [f"  {c.url:<24} {c.party_name}  user {c.user}  password {c.password}"
                  for c in consoles]
    lines += ["", "Sources synced:"]
    for s in hub.summaries:
        lines.append(
            f"  {s.source:<16} {s.status:<7} {s.records:>6} records  {s.linked:>5} linked  "
            f"{s.unlinked:>4} unlinked  {s.issues:>4} data issues"
        )
    if hub.trust is not None:
        lines += ["", "Parties (every request needs 'Authorization: Bearer <token>'; tokens are "
                  "single use and live 10 minutes;", f"  fresh ones: {url}/demo/token?party=ID, "
                  "demo only):"]
        for party, name in hub.parties:
            lines += [f"  {party}  {name}", f"    {hub.trust.token_for(party)}"]
    for title, query in EXAMPLE_QUERIES:
        lines += ["", f"# {title}", query]
    if hub.workflows is not None:
        from hub.clock import utcnow
        from hub.demo.workflows import example_operations as workflow_operations

        w = hub.workflows
        lines += ["", f"Workflow history seeded: {w.activities} activities with attendance, "
                  f"{w.tasks} tasks, {w.claims} claims, {w.points} confirmed for points "
                  f"({w.entries} ledger entries)."]
        for title, operation in workflow_operations(w, utcnow().year):
            lines += ["", f"# {title}", operation]
    if hub.history is not None and len(hub.parties) > 2:  # workflows 5 and 6 (issue 8)
        from hub.demo.letters_transfers import example_operations as letter_operations

        h = hub.history
        lines += ["", f"# Seeded: {h.letters} evaluation letters for last year (signed and "
                  f"acknowledged), transfers {dict(sorted(h.transfers.items()))}"]
        for title, operation in letter_operations(h, hub.parties[0][0], hub.parties[2][0]):
            lines += ["", f"# {title}", operation]
    lines += ["", "e.g. curl -s -H \"Authorization: Bearer $(curl -s "
              f"'{url}/demo/token?party=xuzhou-county-org' | python3 -c 'import json,sys; "
              "print(json.load(sys.stdin)[\"token\"])')\" -H 'Content-Type: application/json' "
              f"-d '{{\"query\": \"{{ members {{ totalCount }} }}\"}}' {url}/graphql",
              "", "Write-back: a check-in recorded here is delivered to 蓉城先锋 (its own GET "
              "/api/v1/checkins), the county database (dy_bdjl) and the village's workbook "
              "(yongshui_hub_checkins.xlsx);",
              f"  see each delivery in ExchangeEntry.deliveries, or: yanxing outbox list "
              f"--config {hub.config_path}",
              "", "Press Ctrl+C to stop."]
    return "\n".join(lines)


async def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.app import create_app
    from hub.demo.launch import start_demo

    listener = _listen(args.port)
    port = listener.getsockname()[1]
    # one console per demo party (six), bound now so a busy port fails before the layout
    first = args.console_port if args.console_port is not None else (port + 1 if args.port
                                                                     else 0)
    console_listeners = [] if args.no_console else [
        _console_listen(0 if first == 0 else first + n) for n in range(6)]
    # six: the demo's parties (hub.demo.launch: five systems' owners and one observer)
    print("Starting the five simulated systems, syncing and seeding a year of workflow "
          "history (about 30 seconds)...", flush=True)
    async with start_demo(args.dir, port=port, members=args.members, seed=args.seed) as hub:
        trust = hub.trust
        # served exactly as yanxing.toml says, [trust] included
        app = create_app(hub.settings,
                         demo_tokens=(hub.parties, trust.token_for) if trust else None)
        # uvicorn annotates the timeout as int but hands it to asyncio.wait_for (float seconds);
        # the setting allows fractions (hub.settings.Limits)
        shutdown: Any = hub.settings.limits.shutdown_timeout_seconds
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                           lifespan="on", timeout_graceful_shutdown=shutdown)
        )
        consoles, console_servers = ([], []) if args.no_console or trust is None else \
            _consoles(hub, port, console_listeners)
        print(_banner(hub, port, consoles), flush=True)
        await asyncio.gather(server.serve(sockets=[listener]),
                             *(s.serve(sockets=[sock]) for s, sock in console_servers))
    return 0


def _consoles(hub: Any, port: int, listeners: list[socket.socket]) -> tuple[list[Any], list[Any]]:
    """Write each party's console.toml and make its server (one port each)."""
    import secrets

    import uvicorn

    from console.app import create_console_app
    from console.config import load_console_config
    from hub.demo.consoles import SECRET_ENV, write_consoles
    from hub.demo.launch import party_roles

    ports = [sock.getsockname()[1] for sock in listeners]
    consoles = write_consoles(Path(hub.config_path).parent, hub.trust, hub.parties,
                              party_roles(hub), hub_port=port, ports=ports)
    env = {SECRET_ENV: secrets.token_urlsafe(48)}
    servers = []
    for console, sock in zip(consoles, listeners):
        app = create_console_app(load_console_config(console.config_path, env=env))
        config = uvicorn.Config(app, host="127.0.0.1", port=console.port, log_level="warning")
        servers.append((uvicorn.Server(config), sock))
    return consoles, servers


def _listen(port: int) -> socket.socket:
    """Bind 127.0.0.1:`port` now (0: the kernel picks a free one), so a busy port fails before
    the demo spends ten seconds laying itself out, and `--port 0` knows its number."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
    except OSError:
        listener.close()
        raise
    return listener


class _ConsolePortBusy(OSError):
    """A console's port is taken (the message names which, and the option to change)."""


def _console_listen(port: int) -> socket.socket:
    try:
        return _listen(port)
    except OSError as exc:
        raise _ConsolePortBusy(exc.errno, f"{exc.strerror}: the officials' console port "
                               f"{port}; pick others with --console-port, or --no-console"
                               ) from None


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port < 65536:
        print(f"yanxing demo: --port {args.port} is not a TCP port (0-65535; 0: any free "
              "port)", file=sys.stderr)
        return 2
    if args.members < 10:
        print("yanxing demo: --members must be at least 10", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(args))
    except _ConsolePortBusy as exc:
        print(f"yanxing demo: cannot listen on 127.0.0.1 ({exc.strerror})", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"yanxing demo: cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); "
              "pick another with --port", file=sys.stderr)
        return 2
