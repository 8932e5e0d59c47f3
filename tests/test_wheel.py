"""The built wheel works installed: in a fresh venv outside the checkout, `yanxing schema check`
passes, every demo mapping loads through the installed connectors, `yanxing contract lint`
finds the packaged SDL, and `yanxing demo --port 0` comes up ready.

Why a real build and install: the checkout's editable install reads files next to the source
tree, so a file that is not package data (as `schema/*.json` once was) works in every other
test and breaks every installed hub. Only an installed wheel, run from a folder that is not
the checkout, shows it. The wheel is built from a copy of exactly the files it is made of, so
the test neither reads nor leaves a stale `build/` in the checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: what the wheel is built from (pyproject.toml names README.md as the long description)
_WHEEL_SOURCES = ("pyproject.toml", "README.md", "hub", "connectors")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    cwd: Path      # a folder outside the checkout to run the installed commands in
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def yanxing(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "yanxing"), *args)

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "python"), "-c", code)


def _must(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in _WHEEL_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    # the test process's own environment, minus anything that would put the checkout on the path
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    build = subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(work / "dist"),
                            str(source)], env=env, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = (work / "dist").glob("yanxing-*.whl")
    venv = work / "venv"
    # no pip inside (the checkout's pip installs into it with --python): quicker, and nothing
    # of the checkout's venv is shared
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    install = subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install",
                              str(wheel)], env=env, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    cwd = work / "elsewhere"
    cwd.mkdir()
    return Installed(wheel, venv, cwd, env)


def test_wheel_holds_the_package_data(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = {
        "hub/py.typed", "connectors/py.typed",
        "hub/schemas/yanxing.graphql", "hub/schemas/contract.schema.json",
        "connectors/schemas/mapping.schema.json",
        "hub/api/static/graphiql/graphiql.min.js",
        *(f"hub/demo/mappings/{p.name}" for p in (ROOT / "hub/demo/mappings").glob("*.toml")),
    }
    assert expected <= names, sorted(expected - names)


def test_installed_packages_come_from_the_venv(installed: Installed) -> None:
    out = _must(installed.python("import connectors, hub; print(hub.__file__); "
                                 "print(connectors.__file__)")).stdout.split()
    assert all(Path(p).is_relative_to(installed.venv) for p in out), out


def test_schema_check_passes_installed(installed: Installed) -> None:
    result = _must(installed.yanxing("schema", "check"))
    assert "matches the code" in result.stdout
    # `export` has no checkout to publish into: says so, exit 2, but --out still works
    refused = installed.yanxing("schema", "export")
    assert refused.returncode == 2 and "--out" in refused.stderr
    assert "Traceback" not in refused.stderr
    exported = _must(installed.yanxing("schema", "export", "--out", "-")).stdout
    assert exported == (ROOT / "schema" / "yanxing.graphql").read_text(encoding="utf-8")


_LOAD_MAPPINGS = """
import json, tomllib
from importlib import resources
from connectors.mapping import load_mapping, parse_mapping
from hub.demo.world import MAPPINGS_DIR
env = {"CHENGDU_TOKEN": "t", "ZHEJIANG_APP_SECRET": "s"}
folder = resources.files("hub.demo") / "mappings"
loaded = {}
for entry in sorted(folder.iterdir(), key=lambda e: e.name):
    if entry.name.endswith(".toml"):
        packaged = parse_mapping(tomllib.loads(entry.read_text(encoding="utf-8")), env=env)
        by_path = load_mapping(MAPPINGS_DIR / entry.name, env=env)
        loaded[entry.name] = [packaged.source.name, by_path.source.name,
                              str(by_path.path), sorted(by_path.entities)]
print(json.dumps(loaded))
"""


def test_every_demo_mapping_loads_installed(installed: Installed) -> None:
    loaded = json.loads(_must(installed.python(_LOAD_MAPPINGS)).stdout)
    assert sorted(loaded) == sorted(p.name for p in (ROOT / "hub/demo/mappings").glob("*.toml"))
    for name, (packaged, by_path, path, entities) in loaded.items():
        assert packaged == by_path == name.removesuffix(".toml") and "member" in entities
        assert Path(path).is_relative_to(installed.venv)


def test_contract_lint_uses_the_packaged_schema(installed: Installed) -> None:
    _must(installed.yanxing("contract", "new", "c.json", "--id", "wj-xz", "--title", "温江—叙州",
                            "--party", "wenjiang:destination", "--party", "xuzhou:origin"))
    result = _must(installed.yanxing("contract", "lint", "c.json"))
    assert "contract is valid" in result.stdout


def test_demo_serves_to_readiness_on_a_free_port(installed: Installed) -> None:
    log = installed.cwd / "demo.log"
    with log.open("w", encoding="utf-8") as out:
        demo = subprocess.Popen(
            [str(installed.bin / "yanxing"), "demo", "--port", "0", "--members", "40",
             "--dir", str(installed.cwd / "demo")],
            cwd=installed.cwd, env=installed.env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    try:
        url = _wait_for_url(log, demo)
        assert not url.endswith(":0"), url
        status, body = _wait_ready(f"{url}/readyz", demo)
        assert status == 200, body
        with urllib.request.urlopen(f"{url}/static/graphiql/graphiql.min.js", timeout=10) as r:
            assert r.status == 200 and len(r.read()) > 100_000
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
    assert "Traceback" not in log.read_text(encoding="utf-8")


def _wait_for_url(log: Path, demo: subprocess.Popen[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"GraphQL \+ GraphiQL: (http://127\.0\.0\.1:\d+)/graphql",
                          log.read_text(encoding="utf-8"))
        if found:
            return found.group(1)
        assert demo.poll() is None, log.read_text(encoding="utf-8")
        time.sleep(0.2)
    raise AssertionError(f"no URL in the demo's banner:\n{log.read_text(encoding='utf-8')}")


def _wait_ready(url: str, demo: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    last = (0, "")
    while time.monotonic() < deadline:
        assert demo.poll() is None, "the demo exited before it was ready"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            last = (exc.code, exc.read().decode())
        except OSError as exc:
            last = (0, str(exc))
        time.sleep(0.2)
    return last
