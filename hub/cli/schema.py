"""`yanxing schema export [--out schema/yanxing.graphql]` and `yanxing schema check`.

The SDL file is generated from the code, never edited by hand: `export` writes it, `check`
exits 1 when the file differs from what the code publishes (CI runs it, and so does a test).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "DEFAULT_PATH", "export", "check"]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "schema" / "yanxing.graphql"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("schema", help="export or check schema/yanxing.graphql")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    out = actions.add_parser("export", help="write the published SDL")
    out.add_argument("--out", type=Path, default=DEFAULT_PATH, help="file to write ('-': stdout)")
    out.set_defaults(handler=export)
    chk = actions.add_parser("check", help="exit 1 when the SDL file differs from the code")
    chk.add_argument("--file", type=Path, default=DEFAULT_PATH, help="SDL file to compare")
    chk.set_defaults(handler=check)


def _sdl() -> str:
    from hub.api.schema import print_sdl

    return print_sdl()


def export(args: argparse.Namespace) -> int:
    sdl = _sdl()
    if str(args.out) == "-":
        sys.stdout.write(sdl)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(sdl, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def check(args: argparse.Namespace) -> int:
    sdl = _sdl()
    try:
        current = args.file.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = ""
    if current == sdl:
        print(f"{args.file} matches the code")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True), sdl.splitlines(keepends=True),
        fromfile=str(args.file), tofile="code",
    )
    sys.stderr.writelines(diff)
    print(f"{args.file} is out of date: run `yanxing schema export`", file=sys.stderr)
    return 1
