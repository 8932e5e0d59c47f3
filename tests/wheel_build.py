"""Build the wheel from a copy of exactly the files it is made of and install it into a fresh
venv outside the checkout: what tests/test_wheel.py and tests/deploy/ (the Dockerfile's install
steps) run against. Built once per test session (the `installed_wheel` fixture in
tests/conftest.py): building and installing takes tens of seconds on a shared machine.

Why a copy: the checkout's editable install reads files next to the source tree, so only an
installed wheel, run from a folder that is not the checkout, shows a file that is not package
data; and building from a copy neither reads nor leaves a stale `build/` in the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["ROOT", "WHEEL_SOURCES", "Installed", "build_and_install", "wait_ready"]

ROOT = Path(__file__).resolve().parents[1]
#: what the wheel is built from (pyproject.toml names README.md as the long description)
WHEEL_SOURCES = ("pyproject.toml", "README.md", "hub", "connectors", "console")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    cwd: Path      # a folder outside the checkout to run the installed commands in
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def elsewhere(self, cwd: Path, **env: str) -> Installed:
        """The same install, run from another folder (each test its own) with more variables."""
        cwd.mkdir(parents=True, exist_ok=True)
        return replace(self, cwd=cwd, env={**self.env, **env})

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def yanxing(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "yanxing"), *args)

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "python"), "-c", code)


def build_and_install(work: Path) -> Installed:
    """`pip wheel` the project, then install only that wheel (and its dependencies) into a
    new venv under `work`: the two steps deploy/Dockerfile runs in its two stages."""
    source = work / "source"
    source.mkdir()
    for name in WHEEL_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    # the test process's own environment, minus anything that would put the checkout on the path
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
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


def wait_ready(url: str, process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    """Poll `url` until it answers 2xx; the last (status, body) seen when it never does."""
    deadline = time.monotonic() + timeout
    last = (0, "")
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args!r} exited before it was ready"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            last = (exc.code, exc.read().decode())
        except OSError as exc:
            last = (0, str(exc))
        time.sleep(0.2)
    return last
