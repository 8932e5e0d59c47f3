"""A connector author's tools against a live system (docs/walkthrough/study_platform.py, a
real HTTP server on 127.0.0.1): `connector new` writes a mapping that validates and a test file,
`mapping check` prints masked records, issues and what would be lost (and fails on a mapping
that loses records), `connector test` runs the kit, and bad input exits 2 without a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.mapping import load_mapping
from hub.cli import main

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "docs" / "walkthrough" / "study_platform.py"
MAPPING = (ROOT / "docs" / "adding-a-system.md").read_text(encoding="utf-8").split(
    "```toml file=study.toml\n", 1)[1].split("```", 1)[0]


@pytest.fixture(scope="module")
def platform() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, str(PLATFORM), "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def study(tmp_path: Path, platform: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STUDY_URL", platform)
    monkeypatch.setenv("STUDY_TOKEN", "walkthrough-token")
    path = tmp_path / "study.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["rest", "graphql"])
def test_connector_new_writes_a_valid_mapping_and_a_test(
        tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connector", "new", "--kind", kind, "--dir", str(tmp_path), "my-shop"]) == 0
    mapping = load_mapping(tmp_path / "my-shop.toml", env={})
    assert mapping.source.kind == kind and "member" in mapping.entities
    assert "mapping_test_class" in (tmp_path / "test_my_shop.py").read_text(encoding="utf-8")
    assert "yanxing mapping check" in capsys.readouterr().out
    # never overwrites, and says why
    assert main(["connector", "new", "--kind", kind, "--dir", str(tmp_path), "my-shop"]) == 2
    assert "exists; not overwritten" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "says"), [
    (["--kind", "ledger", "x"], "no template for kind 'ledger'"),
    (["Bad Name"], "is not a source name"),
])
def test_connector_new_refuses_bad_input(tmp_path: Path, args: list[str], says: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connector", "new", "--dir", str(tmp_path), *args]) == 2
    assert says in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_mapping_check_prints_masked_records_issues_and_losses(
        study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mapping", "check", str(study), "--sample", "5"]) == 1  # a value is lost
    out = capsys.readouterr().out
    assert "member: 5 record(s) read, source total 30, 5 read back by id" in out
    assert "id_number=510521********0014" in out and "phone=139****0001" in out
    assert "510521198102150014" not in out and "13900000001" not in out
    assert "INVALID_ID_NUMBER" in out and out.count("INVALID_ID_NUMBER") == 1
    assert "1 value(s) kept empty" in out


def test_mapping_check_finds_what_a_wrong_mapping_loses(
        study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = study.read_text(encoding="utf-8")
    study.write_text(text.replace('phone = "lxdh"', 'phone = "lxhd"').replace(
        'path = "/api/v2/partymembers/batch"', 'path = "/api/v2/nothing"'),
        encoding="utf-8")
    assert main(["mapping", "check", str(study), "--sample", "3"]) == 1
    out = capsys.readouterr().out
    assert "mapped but empty in every sampled record: phone" in out
    assert "reading by id failed (study: GET /api/v2/nothing (3 idList): HTTP 404 " \
           "[SOURCE_REJECTED]): every live field would be missing" in out


def test_mapping_check_reports_an_unset_variable_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDY_TOKEN", raising=False)
    path = tmp_path / "study.toml"
    path.write_text(MAPPING, encoding="utf-8")
    assert main(["mapping", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("  - ") == 1 and "STUDY_TOKEN is not set" in err and "Traceback" not in err


def test_connector_test_runs_the_kit_live(study: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    assert main(["connector", "test", str(study)]) == 0
    out = capsys.readouterr().out
    assert "member::read_by_keys_full_batch PASSED" in out
    assert "13 passed, 2 skipped" in out


def test_connector_test_fails_a_wrong_by_id_path(
        study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = study.read_text(encoding="utf-8")
    study.write_text(text.replace('path = "/api/v2/partymembers/batch"',
                                  'path = "/api/v2/nothing"'), encoding="utf-8")
    assert main(["connector", "test", str(study)]) == 1
    out = capsys.readouterr().out
    assert "member::read_by_keys_full_batch FAILED" in out
