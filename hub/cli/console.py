"""`yanxing console --config console.toml [--port 8001]`: serve the officials' console (官员工作台);
`yanxing console hash-password`: the argon2id hash of a password for console.toml.

The console is a party's client of a running hub (console/): it needs the hub's URL, the
party's key and its officials, all in console.toml (console.config documents the file).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from hub.cli._args import PORT

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "console", help="serve the officials' console (官员工作台) for one party",
        description="Serve the web console for the party named in console.toml: its officials "
        "sign in with their passwords; every page calls the hub's public GraphQL API with a "
        "fresh token signed by the party's key, with the official as the token's subject.",
    )
    parser.add_argument("action", nargs="?", choices=["serve", "hash-password"],
                        default="serve", help="serve (default) or hash-password")
    parser.add_argument("--config", type=Path, default=Path("console.toml"),
                        help="console configuration (default console.toml)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=PORT, default=8001, help="default 8001")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.action == "hash-password":
        return _hash_password()
    from console.config import ConsoleConfigError, load_console_config

    try:
        config = load_console_config(args.config)
    except ConsoleConfigError as exc:
        print(f"yanxing: {args.config} is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    import uvicorn

    from console.app import create_console_app
    from hub.errors import ContractError

    try:
        app = create_console_app(config)
    except ContractError as exc:  # the party's key file
        print(f"yanxing: {exc} (set [console] key_file in {args.config})", file=sys.stderr)
        return 2
    print(f"官员工作台 for {config.party_name} ({config.party}) on "
          f"http://{args.host}:{args.port}/ , hub {config.hub_url}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _hash_password() -> int:
    from console.officials import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            print("yanxing: the two passwords differ; nothing was hashed", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 10:
        print("yanxing: a console password needs at least 10 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0
