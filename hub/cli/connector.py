"""`yanxing connector new|test` and `yanxing mapping check`: tools for a connector author alone.

- `connector new --kind rest NAME [--dir DIR]` writes `NAME.toml`, a commented mapping to fill
  in, and `test_NAME.py`, the conformance kit against the source it points at (one line).
- `mapping check FILE [--sample N]` validates the mapping (every problem, exit 2), then reads
  one page and one by-id batch of each entity live and prints the mapped records (ID numbers and
  phones masked), the data-quality issues and what would be lost (connectors.probe): exit 0
  when nothing would be, 1 when something would.
- `connector test FILE` runs the conformance kit (connectors.testing, through its pytest plugin)
  against the live source: pytest's exit status (0 all cases pass, 1 one fails).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from hub.cli._args import bounded_int

__all__ = ["register", "TEMPLATES", "new", "check", "test"]

SAMPLE = bounded_int(1, 1000, "sample")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("connector", help="scaffold a source's mapping, run the kit on it")
    cmds = parser.add_subparsers(dest="connector_command", required=True, metavar="ACTION")
    new_cmd = cmds.add_parser("new", help="write a commented mapping NAME.toml and test_NAME.py")
    new_cmd.add_argument("name", help="the source's name (lowercase, digits, - and _)")
    new_cmd.add_argument("--kind", default="rest", help="rest (default) or graphql")
    new_cmd.add_argument("--side", default="origin", choices=("origin", "destination"))
    new_cmd.add_argument("--dir", type=Path, default=Path("."), help="where to write them")
    new_cmd.set_defaults(handler=new)
    test_cmd = cmds.add_parser("test", help="run the conformance kit against the live source")
    test_cmd.add_argument("mapping", type=Path, help="the source's mapping file")
    test_cmd.set_defaults(handler=test)

    mapping = sub.add_parser("mapping", help="check a mapping file against its live source")
    mcmds = mapping.add_subparsers(dest="mapping_command", required=True, metavar="ACTION")
    check_cmd = mcmds.add_parser(
        "check", help="validate, read one page and one by-id batch live, say what would be lost")
    check_cmd.add_argument("mapping", type=Path, help="the mapping file")
    check_cmd.add_argument("--sample", type=SAMPLE, default=5,
                           help="records to read per entity (default 5)")
    check_cmd.set_defaults(handler=check)


# ---- connector new ---------------------------------------------------------------------------

_REST = '''\
# {name}: a mapping for yanxing (docs/architecture.md, "Mapping files"; schema/mapping.schema.json).
# Fill in what your system calls things, then:
#   yanxing mapping check {name}.toml        validate, read a sample live, see what would be lost
#   yanxing connector test {name}.toml       the conformance kit against the live system

[source]
name = "{name}"
kind = "rest"
title = "{name}"                       # how people call the system (shown in GraphQL)
side = "{side}"                        # origin (流出地) or destination (流入地)

[connection]
base_url = "${{{env}_URL:-http://127.0.0.1:8080}}"
timeout_seconds = 5.0
# credentials only as ${{ENV}} references, never written here:
# auth = {{ type = "bearer", token = "${{{env}_TOKEN}}" }}
# auth = {{ type = "api_key", header = "X-Api-Key", key = "${{{env}_KEY}}" }}

[entities.member]
path = "/members"                      # the URL path of the member list
records = "data.items"                 # dotted path of the record list in the answer
local_id = "id"                        # the system's own id of a member
required = ["id_number", "name"]       # a record without them is reported (MISSING_VALUE)

# paging: "page" (page/size), "cursor" (cursor_param + next) or "offset" (offset/limit);
# size is what the hub asks per page; total is the source's own count (checked by the sync)
[entities.member.pagination]
type = "page"
page_param = "page"
size_param = "size"
size = 50
total = "data.total"

# reading by id is how the hub fetches live fields: without it they are NOT_SUPPORTED
[entities.member.by_keys]
param = "ids"
separator = ","
max = 20

[entities.member.fields]
# canonical field = "the system's column" (a dotted path), or a table with type/codes/formats
name = "name"
id_number = "idCard"
gender = {{ column = "sex", codes = {{ "1" = "male", "2" = "female" }} }}
birth_date = {{ column = "birthday", formats = ["%Y-%m-%d"] }}
phone = "mobile"
'''

_GRAPHQL = '''\
# {name}: a mapping for yanxing, for a system that already speaks GraphQL (connectors/graphql.py).
#   yanxing mapping check {name}.toml        validate, read a sample live, see what would be lost
#   yanxing connector test {name}.toml       the conformance kit against the live system

[source]
name = "{name}"
kind = "graphql"
title = "{name}"
side = "{side}"                        # origin (流出地) or destination (流入地)

[connection]
base_url = "${{{env}_URL:-http://127.0.0.1:8080/graphql}}"   # the GraphQL endpoint
# auth = {{ type = "bearer", token = "${{{env}_TOKEN}}" }}

[entities.member]
# one query per entity; paging through its variables
query = """query($first: Int!, $after: String) {{
  members(first: $first, after: $after) {{
    nodes {{ id name idCard sex }} pageInfo {{ endCursor }} totalCount }} }}"""
records = "members.nodes"              # dotted path inside data
local_id = "id"
# by id: a list argument (by_keys_query) or one field per id under aliases (by_keys_alias)
by_keys_query = "query($ids: [ID!]!) {{ membersByIds(ids: $ids) {{ id name idCard sex }} }}"
by_keys_records = "membersByIds"
by_keys = {{ param = "ids", max = 20 }}

[entities.member.pagination]
type = "cursor"
cursor_param = "after"
size_param = "first"
next = "members.pageInfo.endCursor"
total = "members.totalCount"
size = 50

[entities.member.fields]
name = "name"
id_number = "idCard"
gender = {{ column = "sex", codes = {{ "M" = "male", "F" = "female" }} }}
'''

_TEST = '''\
"""The conformance kit against the live source of {name}.toml (yanxing's connectors.testing):
paging at the mapping's real page size, a full by-id batch, every field round-tripping."""

from pathlib import Path

from connectors.testing import mapping_test_class

Test{cls} = mapping_test_class(Path(__file__).with_name("{name}.toml"))
'''

#: kind -> the commented mapping `connector new` writes
TEMPLATES = {"rest": _REST, "graphql": _GRAPHQL}
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def new(args: argparse.Namespace) -> int:
    name, kind = args.name, args.kind
    if not _NAME.match(name) or len(name) > 64:
        print(f"yanxing connector new: {name!r} is not a source name: lowercase letters, digits, "
              "- and _, starting with a letter", file=sys.stderr)
        return 2
    if kind not in TEMPLATES:
        print(f"yanxing connector new: no template for kind {kind!r} (templates: "
              f"{', '.join(sorted(TEMPLATES))}); write its mapping by hand", file=sys.stderr)
        return 2
    folder: Path = args.dir
    mapping, test_file = folder / f"{name}.toml", folder / f"test_{name.replace('-', '_')}.py"
    existing = [str(p) for p in (mapping, test_file) if p.exists()]
    if existing:
        print(f"yanxing connector new: {', '.join(existing)} exists; not overwritten",
              file=sys.stderr)
        return 2
    folder.mkdir(parents=True, exist_ok=True)
    env = re.sub(r"[^A-Z0-9]", "_", name.upper())
    mapping.write_text(TEMPLATES[kind].format(name=name, side=args.side, env=env),
                       encoding="utf-8")
    cls = "".join(part.capitalize() for part in re.split(r"[-_]", name))
    test_file.write_text(_TEST.format(name=name, cls=cls), encoding="utf-8")
    print(f"wrote {mapping}  (the mapping: fill in your system's names)")
    print(f"wrote {test_file}  (the conformance kit against it: pytest {test_file})")
    print(f"next: yanxing mapping check {mapping}")
    return 0


# ---- mapping check ---------------------------------------------------------------------------


def _load(path: Path) -> Any:
    """The mapping, or every problem printed (root causes only) and None."""
    from connectors.errors import ConnectorConfigError
    from connectors.mapping import load_mapping

    try:
        return load_mapping(path)
    except ConnectorConfigError as exc:
        print(f"yanxing: mapping {path} is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return None


def check(args: argparse.Namespace) -> int:
    mapping = _load(args.mapping)
    if mapping is None:
        return 2
    print(f"{args.mapping}: valid ({mapping.source.kind} source {mapping.source.name!r}, "
          f"{len(mapping.entities)} entit{'y' if len(mapping.entities) == 1 else 'ies'})")
    return asyncio.run(_check_live(mapping, args.sample))


async def _check_live(mapping: Any, sample: int) -> int:
    from connectors.factory import open_connector
    from connectors.probe import masked_values, probe_entity

    connector = open_connector(mapping)
    lost_any = False
    try:
        for name, entity in mapping.entities.items():
            found = await probe_entity(connector, mapping, name, sample)
            types = {f.field: f.type for f in entity.fields.values()}
            total = f", source total {found.total}" if found.total is not None else ""
            by_id = f", {found.by_id} read back by id" if found.by_id is not None else ""
            print(f"\n{name}: {len(found.records)} record(s) read{total}{by_id}")
            for record in found.records:
                values = masked_values(record, types)
                shown = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None)
                print(f"  {record.local_id}: {shown}")
            print(f"  data-quality issues: {len(found.issues) or 'none'}")
            for issue in found.issues:
                value = f" ({issue.value})" if issue.value else ""
                print(f"    {issue.code} {issue.location}: {issue.message}{value}")
            print(f"  would be lost: {'nothing' if not found.lost else ''}".rstrip())
            for line in found.lost:
                print(f"    - {line}")
            lost_any = lost_any or bool(found.lost)
    finally:
        await connector.aclose()
    return 1 if lost_any else 0


# ---- connector test --------------------------------------------------------------------------


def test(args: argparse.Namespace) -> int:
    try:
        import pytest
    except ImportError:
        print("yanxing connector test: needs pytest (pip install pytest)", file=sys.stderr)
        return 2
    if _load(args.mapping) is None:
        return 2
    path: Path = args.mapping.resolve()
    with tempfile.TemporaryDirectory() as empty:
        ini = Path(empty) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        # the kit's plugin is loaded through its pytest11 entry point; no other configuration
        # (the caller's pyproject.toml) applies
        code = int(pytest.main(["-v", "--no-header", "-p", "no:cacheprovider", "-p", "no:asyncio",
                                "-c", str(ini),
                                "--rootdir", str(path.parent), str(path)]))
    return code if code in (0, 1) else 2
