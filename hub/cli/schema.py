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

`diff OLD.graphql [NEW.graphql]` (NEW: the code's SDL) lists what changed by severity, for a
front-end team deciding whether it may upgrade: BREAKING (a client written against OLD may
fail: graphql-core's `find_breaking_changes`), DANGEROUS (it may behave differently:
`find_dangerous_changes`, e.g. a new enum value or a changed default) and SAFE (additions).
It exits 1 when anything breaks. `schema/released/yanxing.graphql` is the SDL of the last
release; tests/test_schema_changes.py fails when the code breaks a client of it and
CHANGELOG.md's unreleased section does not name the change as BREAKING
(`unannounced_breaking_changes`). On a release, copy the published SDL there.
`export --config yanxing.toml` writes a deployment's own SDL instead: the core schema plus the
extension fields its `[extensions.member]` declares (`Member.extensions`,
hub.api.extension_fields), into `--out` or `yanxing.graphql` beside the configuration. The
core SDL and its published copies are not touched.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = ["register", "DEFAULT_PATH", "SUBGRAPH_PATH", "PACKAGED_SCHEMAS", "published_dir",
           "export", "check", "breaking_changes", "diff", "schema_changes",
           "unannounced_breaking_changes", "change_subject"]

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
    dif = actions.add_parser(
        "diff", help="list the changes from OLD to NEW (default: the code) by severity; "
        "exit 1 if any breaks a client")
    dif.add_argument("old", type=Path, metavar="OLD.graphql")
    dif.add_argument("new", type=Path, nargs="?", default=None, metavar="NEW.graphql",
                     help="default: the SDL of this code")
    dif.add_argument("--federation", action="store_true",
                     help="compare with the code's subgraph SDL (when NEW is not given)")
    dif.set_defaults(handler=diff)


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


def _build(sdl: str, what: str) -> Any:
    from graphql import build_ast_schema, parse

    try:
        return build_ast_schema(parse(sdl), assume_valid_sdl=True)
    except Exception as exc:  # GraphQLError, TypeError: say which file and why, no traceback
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{what} is not a GraphQL SDL: {message}") from None


def schema_changes(old_sdl: str, new_sdl: str, *, old_name: str = "OLD",
                   new_name: str = "NEW") -> dict[str, list[str]]:
    """{"BREAKING": [...], "DANGEROUS": [...], "SAFE": [...]} from `old_sdl` to `new_sdl`;
    ValueError naming the file that is not an SDL."""
    from graphql import (
        GraphQLInputObjectType,
        GraphQLInterfaceType,
        GraphQLObjectType,
        Undefined,
        find_breaking_changes,
        find_dangerous_changes,
        is_non_null_type,
    )

    old, new = _build(old_sdl, old_name), _build(new_sdl, new_name)
    safe: list[str] = []
    for name, kind in sorted(new.type_map.items()):
        if name.startswith("__") or name in _STANDARD_SCALARS:
            continue
        before = old.type_map.get(name)
        if before is None:
            safe.append(f"{name} was added.")
            continue
        if isinstance(kind, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)) \
                and isinstance(before, type(kind)):
            for field_name, field in kind.fields.items():
                required_input = isinstance(kind, GraphQLInputObjectType) and \
                    is_non_null_type(field.type) and field.default_value is Undefined
                if field_name not in before.fields and not required_input:
                    safe.append(f"{name}.{field_name} was added.")
    return {
        "BREAKING": [c.description for c in find_breaking_changes(old, new)],
        "DANGEROUS": [c.description for c in find_dangerous_changes(old, new)],
        "SAFE": safe,
    }


def diff(args: argparse.Namespace) -> int:
    try:
        old_sdl = args.old.read_text(encoding="utf-8")
        if args.new is not None:
            new_sdl, new_name = args.new.read_text(encoding="utf-8"), str(args.new)
        else:
            new_sdl, new_name = _sdl(getattr(args, "federation", False)), "the code's SDL"
        changes = schema_changes(old_sdl, new_sdl, old_name=str(args.old), new_name=new_name)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"yanxing schema diff: {exc}", file=sys.stderr)
        return 2
    total = 0
    for severity, items in changes.items():
        for item in items:
            print(f"{severity}: {item}")
            total += 1
    if not total:
        print(f"no changes from {args.old} to {new_name}")
    counts = ", ".join(f"{len(v)} {k.lower()}" for k, v in changes.items())
    print(f"{counts} ({args.old} -> {new_name})", file=sys.stderr)
    return 1 if changes["BREAKING"] else 0


_STANDARD_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})
_COORDINATE = re.compile(r"\b([_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*)\b")
_STANDARD_SCALAR = re.compile(r"^Standard scalar ([_A-Za-z][_0-9A-Za-z]*)")


def change_subject(description: str) -> str:
    """The schema coordinate a change is about, as a changelog names it: `Type.field`
    ("Field Member.phone was removed."), `Enum.VALUE` ("Enum value Status.LOST was
    removed."), or the type ("Region was removed.")."""
    coordinate = _COORDINATE.search(description)
    if coordinate:
        return coordinate.group(1)
    scalar = _STANDARD_SCALAR.match(description)
    if scalar:
        return scalar.group(1)
    return description.split()[0].rstrip(".")


def _breaking_text(changelog: str) -> str:
    """The text CHANGELOG.md's first (unreleased) section marks as breaking: everything under
    a heading with BREAKING in it, and every list item marked **BREAKING**."""
    sections = re.split(r"(?m)^## ", changelog)
    unreleased = sections[1] if len(sections) > 1 else changelog
    marked: list[str] = []
    under_breaking = False
    item: list[str] = []

    def close_item() -> None:
        if "BREAKING" in " ".join(item):
            marked.append(" ".join(item))
        item.clear()

    for line in unreleased.splitlines():
        if line.startswith("#"):
            close_item()
            under_breaking = "BREAKING" in line
            continue
        if under_breaking:
            marked.append(line)
        if re.match(r"^\s*[-*] ", line):
            close_item()
            item.append(line)
        elif item and line.strip():
            item.append(line)
        else:
            close_item()
    close_item()
    return "\n".join(marked)


def unannounced_breaking_changes(released_sdl: str, current_sdl: str, changelog: str
                                 ) -> list[str]:
    """The changes from the released SDL that break its clients and that CHANGELOG.md does
    not name (by their coordinate, e.g. `Activity.startTime`) as BREAKING."""
    announced = _breaking_text(changelog)
    return [change for change in schema_changes(released_sdl, current_sdl)["BREAKING"]
            if change_subject(change) not in announced]
