"""The sample plugin package (examples/yanxing-connector-sample/) installs into a fresh venv
next to the built yanxing wheel, and its one-line test configuration runs the whole
conformance kit against its `jsonl` kind, found through the `yanxing.connectors` entry point;
the kit also fails it when its export repeats a record. The installed `yanxing mapping check`
reads the plugin kind too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.wheel_build import ROOT, Installed

pytestmark = pytest.mark.slow

SAMPLE = ROOT / "examples" / "yanxing-connector-sample"


@pytest.fixture(scope="module")
def with_sample(installed_wheel: Installed, tmp_path_factory: pytest.TempPathFactory,
                ) -> tuple[Installed, Path]:
    """The session's wheel venv with the sample package (and pytest) installed from a copy."""
    work = tmp_path_factory.mktemp("sample")
    copy = work / "yanxing-connector-sample"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info",
                                                                "build"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet",
           "--python", str(installed_wheel.bin / "python"), "install"]
    done = subprocess.run([*pip, str(copy), "pytest>=8"], env=installed_wheel.env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return installed_wheel.elsewhere(copy), copy


def test_the_kit_passes_through_the_entry_point(with_sample: tuple[Installed, Path]) -> None:
    installed, _ = with_sample
    result = installed.run(str(installed.bin / "python"), "-m", "pytest", "-q", "-rs",
                           "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "13 passed, 2 skipped" in result.stdout, result.stdout
    assert "jsonl connector does not declare write" in result.stdout


def test_the_kit_fails_a_repeated_record(with_sample: tuple[Installed, Path],
                                         tmp_path: Path) -> None:
    installed, copy = with_sample
    broken = tmp_path / "broken"
    shutil.copytree(copy / "tests", broken / "tests")
    shutil.copy2(copy / "pyproject.toml", broken / "pyproject.toml")
    export = broken / "tests" / "members.jsonl"
    export.write_text(export.read_text(encoding="utf-8") * 2, encoding="utf-8")
    result = installed.elsewhere(broken).run(str(installed.bin / "python"), "-m", "pytest",
                                             "-q", "-p", "no:cacheprovider")
    assert result.returncode == 1, result.stdout
    assert "member::paging_visits_every_record_once" in result.stdout
    assert "records seen twice: ['u1'" in result.stdout
