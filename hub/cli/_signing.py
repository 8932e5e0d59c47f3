"""What the offline signing commands share (`yanxing letter sign`, `yanxing reconcile-sign`):
the key options, the key and its id, and where the signed envelope goes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.contracts.keys import load_private_key

__all__ = ["add_key_options", "signing_key", "emit"]


def add_key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", type=Path, required=True,
                        help="the party's private key (PEM)")
    parser.add_argument("--kid", help="default: the key file name before '.key.pem'")
    parser.add_argument("--out", type=Path, help="default: standard output")


def signing_key(args: argparse.Namespace) -> tuple[Ed25519PrivateKey, str]:
    """The party's key and its id (`--kid`, else the key file's name before '.key.pem')."""
    return load_private_key(args.key), str(args.kid or args.key.name.removesuffix(".key.pem"))


def emit(args: argparse.Namespace, text: str, done: str) -> int:
    """Write the signed envelope to `--out` (saying `done` on stderr) or to standard output."""
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"{done} -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
