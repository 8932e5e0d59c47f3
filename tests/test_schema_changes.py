"""The schema change gate (issue 12 §4): the code's SDL must not break a client of the last
released SDL (`schema/released/yanxing.graphql`) unless CHANGELOG.md announces the change as
BREAKING; and `yanxing schema diff` lists changes by severity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.api.schema import print_sdl
from hub.cli.schema import change_subject, schema_changes, unannounced_breaking_changes

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "schema" / "released" / "yanxing.graphql"
CHANGELOG = ROOT / "CHANGELOG.md"

OLD = """
type Query { member(key: String!): Member  region: Region }
type Member { key: String!  name: String  phone: String }
type Region { code: String! }
enum Status { IN_CONTACT LOST }
input Filter { name: String }
"""
NEW = """
type Query { member(key: String!): Member  regions: [Region!]! }
type Member { key: String!  name: Int  employer: String }
type Region { code: String!  name: String }
enum Status { IN_CONTACT LOST RETURNED }
input Filter { name: String  region: String! }
"""


def test_the_code_breaks_no_client_of_the_released_sdl_unannounced() -> None:
    missing = unannounced_breaking_changes(
        RELEASED.read_text(encoding="utf-8"), print_sdl(), CHANGELOG.read_text(encoding="utf-8"))
    assert not missing, (
        "these changes break clients of schema/released/yanxing.graphql; name each (by its "
        "coordinate) under a BREAKING heading of CHANGELOG.md's unreleased section, saying "
        "what clients must change, or keep the old field:\n" + "\n".join(missing))


def test_changes_are_sorted_by_severity() -> None:
    changes = schema_changes(OLD, NEW)
    assert "Field Member.phone was removed." in changes["BREAKING"]
    assert "Field Query.region was removed." in changes["BREAKING"]
    assert "Field Member.name changed type from String to Int." in changes["BREAKING"]
    assert "A required field Filter.region was added." in changes["BREAKING"]
    assert "Enum value Status.RETURNED was added." in changes["DANGEROUS"]
    assert {"Member.employer was added.", "Region.name was added.",
            "Query.regions was added."} <= set(changes["SAFE"])
    assert "Filter.region was added." not in changes["SAFE"]  # required: breaking, not safe


def test_the_gate_needs_each_breaking_change_named_as_breaking() -> None:
    silent = "# Changelog\n\n## 0.2.0 — unreleased\n### Changed\n- `Member.phone` is gone.\n"
    missing = unannounced_breaking_changes(OLD, NEW, silent)
    assert "Field Member.phone was removed." in missing
    heading = ("# Changelog\n\n## 0.2.0 — unreleased\n### BREAKING\n- `Member.phone`, "
               "`Member.name`, `Query.region`, `Filter.region`: see below.\n\n## 0.1.0\n")
    assert unannounced_breaking_changes(OLD, NEW, heading) == []
    item = ("## 0.2.0\n- **BREAKING:** `Member.phone` and `Member.name`\n  and `Query.region`"
            ", `Filter.region` changed.\n- `Member.employer` added.\n")
    assert unannounced_breaking_changes(OLD, NEW, item) == []
    # a BREAKING note of an older release does not announce this one's change
    older = "## 0.2.0\n### Added\n- x\n\n## 0.1.0\n### BREAKING\n- `Member.phone`\n"
    assert "Field Member.phone was removed." in unannounced_breaking_changes(OLD, NEW, older)


@pytest.mark.parametrize(("description", "subject"), [
    ("Field Member.phone was removed.", "Member.phone"),
    ("Field Member.name changed type from String to Int.", "Member.name"),
    ("Region was removed.", "Region"),
    ("Enum value Status.LOST was removed.", "Status.LOST"),
    ("A required field Filter.region was added.", "Filter.region"),
    ("Standard scalar Int was removed because it is not referenced anymore.", "Int"),
])
def test_change_subjects(description: str, subject: str) -> None:
    assert change_subject(description) == subject


def test_schema_diff_cli(tmp_path: Path) -> None:
    old, new = tmp_path / "old.graphql", tmp_path / "new.graphql"
    old.write_text(OLD, encoding="utf-8")
    new.write_text(NEW, encoding="utf-8")
    run = [sys.executable, "-m", "hub", "schema", "diff"]
    broken = subprocess.run([*run, str(old), str(new)], capture_output=True, text=True,
                            check=False)
    assert broken.returncode == 1, broken.stderr
    assert "BREAKING: Field Member.phone was removed." in broken.stdout
    assert "DANGEROUS: Enum value Status.RETURNED was added." in broken.stdout
    assert "SAFE: Member.employer was added." in broken.stdout
    # no change, no breaking change (the code's own SDL may break the release on purpose:
    # test_released_sdl_breaks_nothing_unannounced holds CHANGELOG to naming it)
    same = subprocess.run([*run, str(RELEASED), str(RELEASED)], capture_output=True, text=True,
                          check=False)
    assert same.returncode == 0, same.stdout + same.stderr
    bad = tmp_path / "bad.graphql"
    bad.write_text("type {", encoding="utf-8")
    refused = subprocess.run([*run, str(bad)], capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "bad.graphql is not a GraphQL SDL" in refused.stderr
    gone = subprocess.run([*run, str(tmp_path / "nope.graphql")], capture_output=True,
                          text=True, check=False)
    assert gone.returncode == 2 and "Traceback" not in gone.stderr
