"""The published SDL file matches the code, and every type and field is described."""

from __future__ import annotations

import argparse
from pathlib import Path

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

from hub.api.schema import build_schema, print_sdl, published_schema
from hub.cli.schema import DEFAULT_PATH, check


def test_sdl_file_matches_the_code() -> None:
    assert DEFAULT_PATH.read_text(encoding="utf-8") == print_sdl(), (
        "schema/yanxing.graphql is out of date: run `yanxing schema export`"
    )


def test_check_command_detects_drift(tmp_path: Path) -> None:
    stale = tmp_path / "old.graphql"
    stale.write_text(print_sdl().replace("姓名", "名字"), encoding="utf-8")
    assert check(argparse.Namespace(file=stale)) == 1
    stale.write_text(print_sdl(), encoding="utf-8")
    assert check(argparse.Namespace(file=stale)) == 0


def test_every_type_and_field_has_chinese_and_english_description() -> None:
    schema = published_schema()._schema
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID",
                                             "DateTime"}:
            continue
        assert type_.description and any("\u4e00" <= c <= "\u9fff" for c in type_.description), name
        if isinstance(type_, (GraphQLObjectType, GraphQLInputObjectType)):
            for field_name, field in type_.fields.items():
                assert field.description, f"{name}.{field_name}"
        if isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                assert value.description, f"{name}.{value_name}"


def test_query_is_composable() -> None:
    import strawberry

    @strawberry.type
    class ContractsQuery:
        @strawberry.field(description="合同。 Contracts.")
        def contracts(self) -> list[str]:
            return []

    sdl = build_schema([ContractsQuery]).as_str()
    assert "contracts: [String!]!" in sdl and "members(" in sdl
