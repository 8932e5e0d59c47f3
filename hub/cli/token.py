"""`yanxing token --party P --user U --purpose X --key FILE`: mint a request token (dev)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.contracts.keys import load_private_key
from hub.contracts.tokens import mint_token

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("token", help="mint a party-signed request token (development)")
    p.add_argument("--party", required=True)
    p.add_argument("--user", required=True, help="the official's user id")
    p.add_argument("--purpose", required=True, help="e.g. co-management")
    p.add_argument("--key", type=Path, required=True, help="the party's private key (PEM)")
    p.add_argument("--kid", help="key id (default: the key file name before '.key.pem')")
    p.add_argument("--audience", default="yanxing-hub", help="the hub id")
    p.add_argument("--ttl", type=int, default=300, help="seconds, at most 600")
    p.set_defaults(handler=_token)


def _token(args: argparse.Namespace) -> int:
    kid = args.kid or args.key.name.removesuffix(".key.pem")
    print(mint_token(args.party, args.user, args.purpose, load_private_key(args.key), kid,
                     args.audience, args.ttl))
    return 0
