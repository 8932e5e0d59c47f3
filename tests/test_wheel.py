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
import re
import signal
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.wheel_build import ROOT, Installed
from tests.wheel_build import wait_ready as _wait_ready

pytestmark = pytest.mark.slow


def _must(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(installed_wheel: Installed, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The session's wheel (tests/wheel_build.py), run from this module's own folder."""
    return installed_wheel.elsewhere(tmp_path_factory.mktemp("wheel-cwd"))


def test_wheel_holds_the_package_data(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = {
        "hub/py.typed", "connectors/py.typed",
        "hub/schemas/yanxing.graphql", "hub/schemas/yanxing.subgraph.graphql",
        "hub/schemas/contract.schema.json",
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
env = {"CHENGDU_TOKEN": "t", "ZHEJIANG_APP_SECRET": "s", "STUDY_CLIENT_SECRET": "c"}
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
        # the officials' consoles come from the wheel too: templates and vendored htmx
        consoles = re.findall(r"^  (http://127\.0\.0\.1:\d+)/ ", log.read_text(
            encoding="utf-8"), re.M)
        assert len(consoles) == 6, log.read_text(encoding="utf-8")
        with urllib.request.urlopen(f"{consoles[0]}/login", timeout=10) as r:
            assert r.status == 200 and "登录官员工作台" in r.read().decode("utf-8")
        with urllib.request.urlopen(f"{consoles[0]}/static/htmx.min.js", timeout=10) as r:
            assert r.status == 200 and len(r.read()) > 40_000
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
