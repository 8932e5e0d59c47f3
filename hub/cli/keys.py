"""`yanxing keys new --out DIR --kid K`: an Ed25519 key pair for a party or the hub."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.contracts.keys import new_key_files

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("keys", help="manage Ed25519 signing keys")
    cmds = parser.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    new = cmds.add_parser("new", help="generate a key pair (private key written with mode 0600)")
    new.add_argument("--out", type=Path, required=True, help="directory for the key files")
    new.add_argument("--kid", required=True, help="key id, e.g. wenjiang-2025")
    new.set_defaults(handler=_new)


def _new(args: argparse.Namespace) -> int:
    files = new_key_files(args.out, args.kid)
    print(f"private key (keep it with the party, mode 0600): {files.private}")
    print(f"public key (give to the registry operator):     {files.public_jwk}")
    print(f"public key (PEM):                               {files.public_pem}")
    return 0
