"""Contract schema, semantics and lint (unknown keys, unknown fields, prohibition wins)."""

from __future__ import annotations

from typing import Any

import pytest
from contract_world import KNOWN_FIELDS

from hub.contracts.lint import known_fields_from_sdl, lint_contract
from hub.contracts.model import Role, parse_contract, region_covers
from hub.errors import ContractError
from hub.policy.base import Subject, Transform


def test_example_contract_parses(contract_doc: dict[str, Any]) -> None:
    c = parse_contract(contract_doc)
    assert c.parties == {"wenjiang": Role.DESTINATION, "xuzhou": Role.ORIGIN}
    assert c.read_grants[0].fields["Member"]["birthDate"] is Transform.YEAR
    assert c.record["checkin"] == frozenset({"destination"})
    assert c.obligations[0].description == "每季度通联流动党员台账"
    assert c.digest.startswith("sha256:") and len(c.digest) == 71
    assert c.matches("origin", "xuzhou") and not c.matches("origin", "wenjiang")
    assert not c.matches(None, "sichuan")


def test_unknown_key_refused(contract_doc: dict[str, Any]) -> None:
    contract_doc["scope"]["everyone"] = True
    with pytest.raises(ContractError, match="'everyone' was unexpected"):
        parse_contract(contract_doc)
    report = lint_contract(contract_doc, KNOWN_FIELDS)
    assert not report.ok and any("everyone" in e for e in report.errors)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["parties"].pop(), "should be non-empty|is too short"),
        (lambda d: d["parties"][0].update(role="origin"), "one origin and one destination"),
        (lambda d: d["permissions"]["read"][0].update(grantee="deyang"), "neither a role"),
        (lambda d: d["permissions"]["read"][0]["fields"]["Member"].update(phone="plain"),
         "is not one of"),
        (lambda d: d["validity"].update(not_after="2024-01-01T00:00:00Z"), "must follow"),
        (lambda d: d.update(version=2), "must name the digest"),
        (lambda d: d["permissions"]["record"].update(vote=["origin"]), "vote"),
    ],
)
def test_invalid_contracts(contract_doc: dict[str, Any], mutate: Any, message: str) -> None:
    mutate(contract_doc)
    report = lint_contract(contract_doc, KNOWN_FIELDS)
    assert not report.ok
    assert any(__import__("re").search(message, e) for e in report.errors), report.errors


def test_field_not_in_published_schema(contract_doc: dict[str, Any]) -> None:
    contract_doc["permissions"]["read"][0]["fields"]["Member"]["salary"] = "full"
    contract_doc["prohibitions"]["read"][0]["fields"]["Secret"] = ["x"]
    report = lint_contract(contract_doc, KNOWN_FIELDS)
    assert report.errors == (
        "permissions/read/0/fields/Member/salary: Member.salary is not in the published schema",
        "prohibitions/read/0/fields/Secret: type Secret is not in the published schema",
    )


def test_permission_vs_prohibition_resolved_for_prohibition(contract_doc: dict[str, Any]) -> None:
    contract_doc["permissions"]["read"][1]["fields"]["Member"]["willingVillageCadre"] = "full"
    contract_doc["prohibitions"]["record"] = {"transfer": ["wenjiang"]}
    contract_doc["permissions"]["record"]["transfer"] = ["destination", "origin"]
    report = lint_contract(contract_doc, KNOWN_FIELDS)
    assert report.ok
    assert report.conflicts == (
        "permissions/read/1 grants destination Member.willingVillageCadre but "
        "prohibitions/read/0 forbids it: the prohibition wins",
        "permissions/record/transfer allows destination but prohibitions/record/transfer "
        "forbids it: the prohibition wins",
    )
    assert report.resolved is not None
    assert (
        "willingVillageCadre" not in report.resolved["permissions"]["read"][1]["fields"]["Member"]
    )
    assert report.resolved["permissions"]["record"]["transfer"] == ["origin"]
    assert lint_contract(report.resolved, KNOWN_FIELDS).conflicts == ()


def test_clean_contract_lints_clean(contract_doc: dict[str, Any]) -> None:
    report = lint_contract(contract_doc, KNOWN_FIELDS)
    assert report.ok and report.conflicts == () and report.resolved == contract_doc


def test_known_fields_from_sdl() -> None:
    sdl = """
    interface Node { id: ID! }
    type Member implements Node { id: ID! key: ID! idNumber: String employer: String }
    type Query { member(key: ID!): Member }
    enum Status { IN_CONTACT }
    """
    known = known_fields_from_sdl(sdl)
    assert known["Member"] == {"id", "key", "idNumber", "employer"}
    assert "Status" not in known and not any(k.startswith("__") for k in known)
    with pytest.raises(ContractError):
        known_fields_from_sdl("type {")


def test_region_hierarchy_and_scope(contract_doc: dict[str, Any]) -> None:
    assert region_covers("510100", "510115") and region_covers("510000", "511504")
    assert not region_covers("510100", "511504") and not region_covers("510115", None)
    scope = parse_contract(contract_doc).scope
    inside = Subject("k", None, "511504", "510115", "in_contact")
    assert scope.covers(inside)
    assert not scope.covers(Subject("k", None, "511502", "510115", "in_contact"))
    assert not scope.covers(Subject("k", None, "511504", "330102", "in_contact"))
    assert not scope.covers(Subject("k", None, None, "510115", "in_contact"))
