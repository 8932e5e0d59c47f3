"""The published `schema/` folder is byte for byte the package's schemas.

The packaged copies (hub/schemas/, connectors/schemas/) are what the code loads, installed or
not; `schema/` is what readers and contract authors see. A copy that drifts would publish a
schema the hub does not enforce, so they must be identical, and `yanxing schema export`
refreshes the published ones.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from hub.api.schema import print_sdl
from hub.cli import main
from hub.cli.schema import PACKAGED_SCHEMAS, export, published_dir

ROOT = Path(__file__).resolve().parents[1]


def test_published_folder_is_found_in_the_checkout() -> None:
    assert published_dir() == ROOT / "schema"


def test_schema_folder_publishes_exactly_the_packaged_schemas() -> None:
    # released/: the last release's SDL, for the change gate (tests/test_schema_changes.py)
    assert sorted(p.name for p in (ROOT / "schema").iterdir() if p.name != "released") == \
        sorted(PACKAGED_SCHEMAS)


@pytest.mark.parametrize("name", sorted(PACKAGED_SCHEMAS))
def test_published_copy_is_byte_identical(name: str) -> None:
    assert (ROOT / "schema" / name).read_bytes() == PACKAGED_SCHEMAS[name].read_bytes(), (
        f"schema/{name} differs from its packaged copy {PACKAGED_SCHEMAS[name]}: edit the "
        "packaged one and run `yanxing schema export`"
    )


def test_export_out_writes_only_that_file(tmp_path: Path) -> None:
    target = tmp_path / "sdl" / "yanxing.graphql"
    assert export(argparse.Namespace(out=target)) == 0
    assert target.read_text(encoding="utf-8") == print_sdl()


def test_check_compares_the_packaged_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "check"]) == 0
    assert "hub/schemas/yanxing.graphql matches the code" in capsys.readouterr().out


def test_export_federation_out_writes_the_subgraph_sdl(tmp_path: Path) -> None:
    from hub.api.schema import print_subgraph_sdl

    target = tmp_path / "yanxing.subgraph.graphql"
    assert main(["schema", "export", "--federation", "--out", str(target)]) == 0
    sdl = target.read_text(encoding="utf-8")
    assert sdl == print_subgraph_sdl() and '@key(fields: "key"' in sdl
    assert sdl != print_sdl()


def test_check_covers_both_sdls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hub.api.schema import print_subgraph_sdl

    assert main(["schema", "check"]) == 0
    assert "hub/schemas/yanxing.subgraph.graphql matches the code" in capsys.readouterr().out
    stale = tmp_path / "old.graphql"
    stale.write_text(print_subgraph_sdl().replace('@key(fields: "code"', '@key(fields: "x"'),
                     encoding="utf-8")
    assert main(["schema", "check", "--federation", "--file", str(stale)]) == 1
    stale.write_text(print_subgraph_sdl(), encoding="utf-8")
    assert main(["schema", "check", "--federation", "--file", str(stale)]) == 0


@pytest.mark.parametrize("federation", [False, True])
def test_check_names_breaking_changes_of_either_sdl(
        federation: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A field the published file has and the code lost is a breaking change, reported as such
    for the plain SDL and for the subgraph SDL alike; an added field is not."""
    from hub.api.schema import print_subgraph_sdl

    sdl = print_subgraph_sdl() if federation else print_sdl()
    flag = ["--federation"] if federation else []
    stale = tmp_path / "published.graphql"
    stale.write_text(sdl.replace("  key: ID!", "  key: ID!\n  legacy: String", 1),
                     encoding="utf-8")
    assert main(["schema", "check", *flag, "--file", str(stale)]) == 1
    assert "BREAKING: Field Member.legacy was removed." in capsys.readouterr().err
    older = tmp_path / "older.graphql"
    older.write_text(sdl.replace("  \"\"\"姓名。 Name (姓名).\"\"\"\n  name: String\n", "",
                                 1), encoding="utf-8")
    assert main(["schema", "check", *flag, "--file", str(older)]) == 1
    assert "BREAKING" not in capsys.readouterr().err
