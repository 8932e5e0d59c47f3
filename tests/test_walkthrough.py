"""docs/adding-a-system.md, followed literally: its commands run in one shell, in order, and
print what the document shows.

The document is the script. Each ```console block's `$ ` lines are commands, the lines after
one (up to the next `$ `) its expected output, where a line `...` stands for any lines and `...`
inside a line for any text (times, paths, tokens); runs of spaces compare as one. A ```toml
file=NAME block is written to NAME, a ```json merge=NAME block's keys are set in the JSON file
NAME (the "edit it to say" steps). The shell starts in a folder laid out like a checkout (the
walkthrough's system under docs/walkthrough/, `.venv` the running virtualenv), so the first
commands (`source .venv/bin/activate`, `mkdir -p var/walkthrough && cd var/walkthrough`) run as
written. A command ending in `&` runs in the background, its output in a log file; every
background job is stopped at the end, also when a step fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "adding-a-system.md"
_FENCE = re.compile(r"^```(\w+)(?:\s+(file|merge)=(\S+))?\s*$")
_MARK = "@@@walkthrough-step"


@dataclass
class Step:
    command: str
    expected: list[str]
    line: int


def parse(text: str) -> tuple[list[Step], list[str]]:
    """The console steps, and the shell script that runs the whole document."""
    steps: list[Step] = []
    script = ["exec 2>&1", "trap 'kill $(jobs -p) 2>/dev/null' EXIT"]
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        i += 1
        if not fence:
            continue
        body: list[str] = []
        start = i
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        i += 1
        language, action, name = fence.groups()
        if action == "file":
            script += [f"cat > {name} <<'WALKTHROUGH_EOF'", *body, "WALKTHROUGH_EOF"]
        elif action == "merge":
            script += [
                f"python - {name} <<'WALKTHROUGH_EOF'",
                "import json, sys",
                "path = sys.argv[1]",
                "doc = json.load(open(path, encoding='utf-8'))",
                f"doc.update(json.loads({json.dumps(chr(10).join(body))}))",
                "json.dump(doc, open(path, 'w', encoding='utf-8'), ensure_ascii=False, indent=2)",
                "WALKTHROUGH_EOF",
            ]
        elif language == "console":
            for offset, row in enumerate(body):
                if row.startswith("$ "):
                    command = row[2:]
                    steps.append(Step(command, [], start + offset + 1))
                    if command.rstrip().endswith("&"):
                        command = f"{command.rstrip()[:-1]} > background-{len(steps)}.log 2>&1 &"
                    # on a line of its own even after output without a final newline (curl)
                    script += [f"printf '\\n{_MARK} {len(steps)}\\n'", command]
                elif steps:
                    steps[-1].expected.append(row)
    return steps, script


def _normal(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def matches(expected: list[str], actual: list[str]) -> bool:
    pattern = ""
    for line in expected:
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += r"[^\n]*".join(re.escape(p) for p in _normal(line).split("...")) + r"\n"
    text = "".join(_normal(line) + "\n" for line in actual)
    return re.fullmatch(pattern, text) is not None


def test_the_walkthrough_parses_into_every_step() -> None:
    steps, _ = parse(DOC.read_text(encoding="utf-8"))
    commands = [s.command for s in steps]
    for needed in ("yanxing connector new", "yanxing mapping check", "yanxing connector test",
                   "yanxing keys new", "yanxing registry add-party", "yanxing registry sign",
                   "yanxing contract sign", "yanxing sync", "yanxing serve", "yanxing token"):
        assert any(needed in c for c in commands), needed
    assert matches(["a ... c", "...", "end"], ["a  b c", "x", "y", "end"])
    assert not matches(["a ... c"], ["a b d"])


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    steps, script = parse(DOC.read_text(encoding="utf-8"))
    (tmp_path / "docs" / "walkthrough").mkdir(parents=True)
    shutil.copy2(ROOT / "docs" / "walkthrough" / "study_platform.py",
                 tmp_path / "docs" / "walkthrough" / "study_platform.py")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    (tmp_path / "walkthrough.sh").write_text("\n".join(script) + "\n", encoding="utf-8")
    done = subprocess.run(["bash", "walkthrough.sh"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"})
    outputs: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in done.stdout.splitlines():
        if line.startswith(_MARK):
            current = outputs.setdefault(int(line.split()[-1]), [])
        elif current is not None:
            current.append(line)
    for printed in outputs.values():
        while printed and not printed[-1].strip():
            printed.pop()  # the blank line before the next step's mark
    for number, step in enumerate(steps, start=1):
        got = outputs.get(number)
        assert got is not None, f"line {step.line}: `{step.command}` never ran\n{done.stdout}"
        assert matches(step.expected, got), (
            f"docs/adding-a-system.md line {step.line}: `{step.command}`\nexpected:\n"
            + "\n".join(step.expected) + "\ngot:\n" + "\n".join(got))
