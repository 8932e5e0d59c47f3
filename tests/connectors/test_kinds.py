"""Connector kinds come from the entry-point group `yanxing.connectors`: the built-ins are
declared there like any plugin, a plugin kind's mapping-schema part is validated like a
built-in's, and an unknown or broken kind says what to do."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import ConnectorConfigError
from connectors.kinds import (
    BUILTIN_KINDS,
    ENTRY_POINT_GROUP,
    ConnectorKind,
    _load,
    connector_kind,
    kind_names,
    register_kind,
    unregister_kind,
)
from connectors.mapping import parse_mapping
from connectors.mock import MockConnector

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_declares_exactly_the_builtin_kinds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"][ENTRY_POINT_GROUP] == dict(BUILTIN_KINDS)


def test_the_installed_metadata_has_them_too() -> None:
    installed = {p.name: p.value for p in entry_points(group=ENTRY_POINT_GROUP)}
    assert dict(BUILTIN_KINDS).items() <= installed.items()


@pytest.mark.parametrize("name", sorted(BUILTIN_KINDS))
def test_every_builtin_kind_loads(name: str) -> None:
    assert connector_kind(name).name == name


def _open_tape(mapping: Any) -> MockConnector:
    return MockConnector(mapping.source.name, {"member": [
        {"local_id": "1", "name": mapping.entities["member"].options["reel"]}]})


TAPE = ConnectorKind(
    name="tape", open=_open_tape,
    connection_schema={"type": "object", "additionalProperties": False, "required": ["drive"],
                       "properties": {"drive": {"type": "string", "pattern": "^/dev/"}}},
    entity_keys=frozenset({"reel", "path"}),
    entity_schema={"reel": {"type": "string", "minLength": 1}},
    required_entity_keys={"reel": "which reel holds the entity"},
    check=lambda doc: [] if doc["connection"]["drive"] != "/dev/null"
    else ["$.connection.drive: /dev/null holds no tape"],
)


@pytest.fixture
def tape() -> Iterator[ConnectorKind]:
    register_kind(TAPE)
    yield TAPE
    unregister_kind("tape")


def _tape_doc(connection: dict[str, Any], member: dict[str, Any]) -> dict[str, Any]:
    return {"source": {"name": "tapes", "kind": "tape", "side": "origin"},
            "connection": connection,
            "entities": {"member": {"local_id": "id", "fields": {"name": "xm"}, **member}}}


def test_a_plugin_kind_is_validated_like_a_builtin(tape: ConnectorKind) -> None:
    assert "tape" in kind_names()
    mapping = parse_mapping(_tape_doc({"drive": "/dev/st0"}, {"reel": "A7"}))
    assert mapping.entities["member"].options == {"reel": "A7"}
    from connectors.factory import open_connector

    assert isinstance(open_connector(mapping), MockConnector)
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(_tape_doc({"drive": "C:", "speed": 3}, {"reel": "", "sheet": "x"}))
    problems = caught.value.problems
    assert "<mapping>: $.connection: Additional properties are not allowed ('speed' was " \
           "unexpected) (unknown keys are not allowed)" in problems
    assert "<mapping>: $.connection.drive: 'C:' does not match '^/dev/'" in problems
    assert "<mapping>: $.entities.member.reel: '' should be non-empty" in problems
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(_tape_doc({"drive": "/dev/null"}, {"sheet": "x"}))
    assert caught.value.problems == [
        "<mapping>: $.entities.member.sheet: not used by a tape source; remove it",
        "<mapping>: $.entities.member: missing reel (which reel holds the entity)",
        "<mapping>: $.connection.drive: /dev/null holds no tape",
    ]


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(_tape_doc({"drive": "/dev/st0"}, {"reel": "A7"}))
    problem = caught.value.problems[0]  # (and "reel" is unknown to the common schema)
    assert problem.startswith("<mapping>: $.source.kind: unknown connector kind 'tape' (known: ")
    assert "graphql, ledger, mock, rest, sql" in problem and ENTRY_POINT_GROUP in problem


@pytest.mark.parametrize(("target", "says"), [
    ("no_such_module_xyz:KIND", "failed to load: ModuleNotFoundError"),
    ("connectors.builtin_kinds:MAPPING_SCHEMA_ID", "gives str, not a connectors.kinds"),
    ("connectors.builtin_kinds:REST", "gives the kind 'rest'"),
])
def test_a_broken_entry_point_says_which_and_why(target: str, says: str) -> None:
    with pytest.raises(ConnectorConfigError, match=says):
        _load("broken", target)


def test_an_unset_variable_is_the_only_problem_of_its_value() -> None:
    """Before: `base_url: '' does not match '^https?://'` came next to the real cause."""
    connection: dict[str, Any] = {"base_url": "${PLATFORM_URL}"}
    doc = {"source": {"name": "p", "kind": "rest", "side": "origin"},
           "connection": connection,
           "entities": {"member": {"local_id": "id", "path": "/m", "fields": {"name": "xm"}}}}
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(doc, env={})
    assert caught.value.problems == [
        "<mapping>: $.connection.base_url: environment variable PLATFORM_URL is not set"]
    connection["timeout_seconds"] = -1
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(doc, env={})
    assert len(caught.value.problems) == 2  # an unrelated problem is still reported
