"""`yanxing schema export [--out FILE|-] [--config yanxing.toml]` and `yanxing schema check`.

The SDL is generated from the code, never edited by hand. It lives twice, byte for byte the
same: as package data (`hub/schemas/yanxing.graphql`, read through importlib.resources, so an
installed hub can check itself and lint contracts without a checkout) and as the published copy
in the checkout's `schema/` folder, next to the mapping and contract JSON Schemas, for readers
and for the parties that write contracts against it. The packaged files are the canonical ones;
`export` writes the code's SDL into the package and refreshes every published copy from the
package, and tests/test_published_schemas.py fails when the two drift apart.

`check` exits 1 when the packaged SDL (or `--file`) differs from what the code publishes (CI
runs it, and so does the wheel test on an installed copy), listing the differences and, as
`BREAKING:` lines, those that break a client written against the file.

There are two SDLs: the plain published schema (`yanxing.graphql`) and the Apollo Federation 2
subgraph schema (`yanxing.subgraph.graphql`: the same types with `@link`, `@key`,
`@shareable`, `@inaccessible`, `_service` and `_entities`; hub.api.subgraph), what a
supergraph's composition is checked against. `export` always writes both, so they cannot drift
apart; `--federation` picks the subgraph SDL for `--out` and for `check`.

`export --config yanxing.toml` writes a deployment's own SDL instead: the core schema plus the
extension fields its `[extensions.member]` declares (`Member.extensions`,
hub.api.extension_fields), into `--out` or `yanxing.graphql` beside the configuration. The
core SDL and its published copies are not touched.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = ["register", "DEFAULT_PATH", "SUBGRAPH_PATH", "PACKAGED_SCHEMAS", "published_dir",
           "export", "check", "breaking_changes"]

#: the SDL as package data; what `check` compares with the code by default
DEFAULT_PATH: Traversable = resources.files("hub") / "schemas" / "yanxing.graphql"
#: the subgraph SDL as package data (`--federation`)
SUBGRAPH_PATH: Traversable = resources.files("hub") / "schemas" / "yanxing.subgraph.graphql"

#: published file name -> its packaged (canonical) copy; connectors own the mapping schema,
#: since they stand alone and load it without the hub
PACKAGED_SCHEMAS: dict[str, Traversable] = {
    "yanxing.graphql": DEFAULT_PATH,
    "yanxing.subgraph.graphql": SUBGRAPH_PATH,
    "contract.schema.json": resources.files("hub") / "schemas" / "contract.schema.json",
    "mapping.schema.json": resources.files("connectors") / "schemas" / "mapping.schema.json",
}


def published_dir() -> Path | None:
    """The checkout's `schema/` folder, or None when the hub runs from an installed wheel (there
    is no checkout to publish into then)."""
    root = Path(str(resources.files("hub"))).resolve().parent
    folder = root / "schema"
    return folder if (root / "pyproject.toml").is_file() and folder.is_dir() else None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("schema", help="export or check the published GraphQL schema")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    out = actions.add_parser(
        "export", help="write the code's SDL into the package and refresh schema/ (a checkout)")
    out.add_argument("--out", type=Path, default=None,
                     help="write only this file instead ('-': stdout)")
    out.add_argument("--federation", action="store_true",
                     help="the Apollo Federation 2 subgraph SDL (for --out; without it both "
                     "SDLs are written)")
    out.add_argument("--config", type=Path, default=None,
                     help="a deployment's yanxing.toml: write its SDL, with its extension "
                     "fields (to --out, default yanxing.graphql beside the file)")
    out.set_defaults(handler=export)
    chk = actions.add_parser("check", help="exit 1 when a packaged SDL differs from the code")
    chk.add_argument("--file", type=Path, default=None,
                     help="SDL file to compare (default: the packaged copies)")
    chk.add_argument("--federation", action="store_true",
                     help="compare the subgraph SDL (only it)")
    chk.set_defaults(handler=check)


def _sdl(federation: bool = False) -> str:
    from hub.api.schema import print_sdl, print_subgraph_sdl

    return print_subgraph_sdl() if federation else print_sdl()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"wrote {path}")


def _export_deployment(config: Path, out: Path | None) -> int:
    from hub.api.extension_fields import deployment_sdl
    from hub.errors import ConfigError
    from hub.settings import load_settings

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print(f"yanxing schema export: {exc}", file=sys.stderr)
        return 2
    sdl = deployment_sdl(settings.extensions)
    target = out if out is not None else config.resolve().parent / "yanxing.graphql"
    if str(target) == "-":
        sys.stdout.write(sdl)
    else:
        _write(target, sdl.encode("utf-8"))
    return 0


def export(args: argparse.Namespace) -> int:
    federation = getattr(args, "federation", False)
    if getattr(args, "config", None) is not None:
        return _export_deployment(args.config, args.out)
    if args.out is not None:
        sdl = _sdl(federation)
        if str(args.out) == "-":
            sys.stdout.write(sdl)
        else:
            _write(args.out, sdl.encode("utf-8"))
        return 0
    published = published_dir()
    if published is None:
        print("yanxing schema export: this hub is installed, not a source checkout, so there is "
              "no schema/ folder to publish into; pass --out FILE (or --out - for stdout)",
              file=sys.stderr)
        return 2
    _write(Path(str(DEFAULT_PATH)), _sdl().encode("utf-8"))
    _write(Path(str(SUBGRAPH_PATH)), _sdl(federation=True).encode("utf-8"))
    for name, packaged in PACKAGED_SCHEMAS.items():
        _write(published / name, packaged.read_bytes())
    return 0


def check(args: argparse.Namespace) -> int:
    federation = getattr(args, "federation", False)
    if args.file is not None:
        return _check_one(args.file, federation)
    if federation:
        return _check_one(SUBGRAPH_PATH, True)
    return max(_check_one(DEFAULT_PATH, False), _check_one(SUBGRAPH_PATH, True))


def _check_one(source: Path | Traversable, federation: bool) -> int:
    sdl = _sdl(federation)
    try:
        current = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = ""
    if current == sdl:
        print(f"{source} matches the code")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True), sdl.splitlines(keepends=True),
        fromfile=str(source), tofile="code",
    )
    sys.stderr.writelines(diff)
    for change in breaking_changes(current, sdl):
        print(f"BREAKING: {change}", file=sys.stderr)
    print(f"{source} is out of date: run `yanxing schema export`", file=sys.stderr)
    return 1


def breaking_changes(published: str, code: str) -> list[str]:
    """What a client written against `published` would lose with `code` (graphql-core's
    `find_breaking_changes`: removed fields and types, changed argument and field types...),
    so a drift says whether it breaks clients (a supergraph's composition included). The SDLs
    are not validated here (the federation directives are not defined in the subgraph SDL);
    an unreadable file has nothing to compare."""
    from graphql import GraphQLError, build_ast_schema, find_breaking_changes, parse

    try:
        old = build_ast_schema(parse(published), assume_valid_sdl=True)
        new = build_ast_schema(parse(code), assume_valid_sdl=True)
    except (GraphQLError, TypeError):
        return []
    return [change.description for change in find_breaking_changes(old, new)]
