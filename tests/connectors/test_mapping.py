"""Mapping files: the documented example loads, env substitution, overrides, and every problem
reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.errors import ConnectorConfigError
from connectors.factory import open_connector
from connectors.ledger import LedgerConnector
from connectors.mapping import load_mapping, parse_mapping
from connectors.rest import RestConnector
from connectors.sql import SqlConnector

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
ENV = {"CHENGDU_URL": "http://127.0.0.1:8101", "CHENGDU_TOKEN": "very-secret-token"}


def doc_example(tmp_path: Path) -> Path:
    section = DOC.read_text(encoding="utf-8").split("## Mapping files")[1]
    path = tmp_path / "chengdu.toml"
    path.write_text(section.split("```toml\n")[1].split("```")[0], encoding="utf-8")
    return path


def test_documented_example_is_valid(tmp_path: Path) -> None:
    mapping = load_mapping(doc_example(tmp_path), env=ENV)
    assert mapping.source.name == "chengdu" and mapping.source.side == "destination"
    member = mapping.entities["member"]
    assert member.fields["gender"].codes == {"1": "male", "2": "female"}
    assert member.fields["destination_region_code"].type == "region"
    assert member.fields["id_number"].type == "id_number"  # inferred from the canonical name
    assert member.pagination is not None and member.pagination.type == "cursor"
    assert member.by_keys is not None and member.by_keys.max == 100
    assert member.required == ("id_number", "name")
    assert member.params == {"pageSize": "100"} and member.headers == {"X-Tenant": "zj"}
    assert member.index_only is False
    assert "very-secret-token" not in repr(mapping) and "very-secret-token" not in str(
        mapping.connection
    )
    assert mapping.connection["auth"]["token"].reveal() == "very-secret-token"
    assert isinstance(open_connector(mapping), RestConnector)


def test_overrides_and_defaults(tmp_path: Path) -> None:
    path = doc_example(tmp_path)
    text = path.read_text(encoding="utf-8").replace("${CHENGDU_URL}", "${CHENGDU_URL:-http://127.0.0.1:9}")
    path.write_text(text, encoding="utf-8")
    mapping = load_mapping(path, env={"CHENGDU_TOKEN": "t"}, overrides={"timeout_seconds": 2.5})
    assert mapping.connection["base_url"] == "http://127.0.0.1:9"
    assert mapping.connection["timeout_seconds"] == 2.5
    mapping = load_mapping(
        path, env={}, overrides={"base_url": "http://127.0.0.1:7", "auth": {"type": "none"}}
    )
    assert dict(mapping.connection["auth"]) == {"type": "none"}


def _raw() -> dict[str, Any]:
    return {
        "source": {"name": "v", "kind": "ledger", "side": "origin"},
        "connection": {"file": "a.xlsx"},
        "entities": {"member": {"local_id": "序号", "fields": {"name": "姓名"}}},
    }


def test_every_problem_listed_with_file_and_json_path(tmp_path: Path) -> None:
    path = doc_example(tmp_path)
    text = path.read_text(encoding="utf-8")
    text = text.replace('side = "destination"', 'side = "sideways"').replace(
        'name = "realName"', 'nmae = "realName"'
    )
    text = text.replace('type = "cursor"', 'type = "scroll"').replace(
        'required = ["id_number", "name"]', 'required = ["id_number", "name"]\nextra = 1'
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConnectorConfigError) as caught:
        load_mapping(path, env={})
    problems = caught.value.problems
    text = "\n".join(problems)
    assert all(p.startswith(str(path.resolve())) for p in problems)
    assert "CHENGDU_URL is not set" in text and "CHENGDU_TOKEN is not set" in text
    assert "$.source.side" in text
    assert "$.entities.member: Additional properties are not allowed ('extra'" in text
    assert "$.entities.member.pagination.type" in text
    assert len(problems) >= 5


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r["entities"]["member"]["fields"].update(nmae="x"),
            "'nmae' is not a canonical member field",
        ),
        (
            lambda r: r["entities"]["member"]["fields"].update(
                gender={"column": "x", "codes": {"1": "man"}}
            ),
            "$.entities.member.fields.gender.codes.1: 'man' is not a gender value",
        ),
        (
            lambda r: r["entities"]["member"]["fields"].update(
                willing_village_cadre={"column": "x", "codes": {"是": "yes"}}
            ),
            "codes must map to true or false",
        ),
        (
            lambda r: r["entities"]["member"]["fields"].update(
                name={"column": "x", "formats": ["%Y"]}
            ),
            "only date and datetime fields take formats",
        ),
        (
            lambda r: r["entities"]["member"]["fields"].update(
                birth_date={"column": "x", "formats": ["%Q%"]}
            ),
            "is not a usable strptime format",
        ),
        (
            lambda r: r["entities"]["member"].update(required=["phone"]),
            "'phone' is required but not mapped",
        ),
        (
            lambda r: r["entities"]["member"].update(
                pagination={"type": "offset", "offset_param": "o"}
            ),
            "pagination: not used by a ledger source",
        ),
        (
            lambda r: r["entities"].update(meeting={"local_id": "x", "fields": {"name": "n"}}),
            "$.entities",
        ),
        (lambda r: r["connection"].update(file="a.xls"), "cannot tell the ledger format"),
        (lambda r: r["connection"].update(encoding="latin-1"), "$.connection.encoding"),
        (lambda r: r["source"].update(name="Bad Name"), "$.source.name"),
        (lambda r: r["source"].update(kind="sql"), "$.connection: 'url' is a required property"),
    ],
)
def test_bad_mappings(change: Any, expected: str) -> None:
    raw = _raw()
    change(raw)
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(raw, env={})
    assert expected in str(caught.value)


def test_literal_secrets_are_refused() -> None:
    raw: dict[str, Any] = {
        "source": {"name": "z", "kind": "rest", "side": "destination"},
        "connection": {
            "base_url": "http://127.0.0.1:1",
            "auth": {"type": "hmac", "app_key": "k", "secret": "plain"},
        },
        "entities": {"member": {"path": "/m", "local_id": "id", "fields": {"name": "n"}}},
    }
    with pytest.raises(ConnectorConfigError, match=r"auth.secret: write credentials as an"):
        parse_mapping(raw, env={})
    raw["connection"]["auth"]["token"] = "${T}"
    raw["connection"]["auth"]["secret"] = "${S}"
    with pytest.raises(ConnectorConfigError, match=r"Additional properties|unevaluated|token"):
        parse_mapping(raw, env={"S": "s", "T": "t"})


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConnectorConfigError, match="not found"):
        load_mapping(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("[source\nname=", encoding="utf-8")
    with pytest.raises(ConnectorConfigError, match="not valid TOML"):
        load_mapping(tmp_path / "bad.toml")


def test_factory_by_kind(tmp_path: Path) -> None:
    assert isinstance(open_connector(parse_mapping(_raw())), LedgerConnector)
    raw = _raw()
    raw["source"]["kind"] = "sql"
    raw["connection"] = {"url": "sqlite+aiosqlite:///x.db"}
    raw["entities"]["member"]["path"] = "t"
    assert isinstance(open_connector(parse_mapping(raw)), SqlConnector)
