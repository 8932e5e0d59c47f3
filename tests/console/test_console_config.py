"""console.toml: every problem listed at once, secrets from the environment, per-page purposes;
and the `yanxing console` command's errors (exit 2, no traceback) and `hash-password`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.config import ConsoleConfigError, load_console_config
from console.officials import hash_password

GOOD_HASH = hash_password("a long enough password")


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "console.toml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = f"""
[console]
hub_url = "http://127.0.0.1:8000/"
audience = "yanxing-hub"
party = "xuzhou-county-org"
party_name = "叙州区委组织部"
kid = "xuzhou-county-org-1"
key_file = "keys/xuzhou.key.pem"
purpose = "co-management"
session_secret = "${{CONSOLE_SECRET}}"

[console.purposes]
reconcile = "reconciliation"

[[officials]]
user = "xz-1"
name = "王志强"
role = "secretary"
password_hash = "{GOOD_HASH}"
"""


def test_a_good_file(tmp_path: Path) -> None:
    config = load_console_config(_write(tmp_path, GOOD), env={"CONSOLE_SECRET": "s" * 40})
    assert config.hub_url == "http://127.0.0.1:8000"
    assert config.key_file == (tmp_path / "keys" / "xuzhou.key.pem")
    assert config.session_secret == "s" * 40
    assert config.purpose_for("reconcile") == "reconciliation"
    assert config.purpose_for("members") == "co-management"
    assert [o.user for o in config.officials] == ["xz-1"]


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    bad = GOOD.replace('party = "xuzhou-county-org"', "party = 7") \
        .replace('role = "secretary"', 'role = "emperor"') \
        .replace("session_minutes", "x")
    with pytest.raises(ConsoleConfigError) as caught:
        load_console_config(_write(tmp_path, bad), env={})
    problems = "\n".join(caught.value.problems)
    assert "[console] party must be a non-empty string" in problems
    assert "CONSOLE_SECRET is not set" in problems
    assert "role must be one of" in problems


def test_a_short_secret_and_a_clear_password_are_refused(tmp_path: Path) -> None:
    bad = GOOD.replace(f'password_hash = "{GOOD_HASH}"', 'password_hash = "hunter2"')
    with pytest.raises(ConsoleConfigError) as caught:
        load_console_config(_write(tmp_path, bad), env={"CONSOLE_SECRET": "short"})
    problems = "\n".join(caught.value.problems)
    assert "at least 32 characters" in problems and "argon2 hash" in problems


def test_unreadable_and_malformed_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConsoleConfigError, match="cannot read"):
        load_console_config(tmp_path / "missing.toml")
    with pytest.raises(ConsoleConfigError, match="not valid TOML"):
        load_console_config(_write(tmp_path, "[console\n"))


def _yanxing(*args: str, stdin: str = "",
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], input=stdin, text=True,
                          capture_output=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_the_command_reports_a_bad_file_without_a_traceback(tmp_path: Path) -> None:
    done = _yanxing("console", "--config", str(_write(tmp_path, "[console]\n")))
    assert done.returncode == 2
    assert "is invalid" in done.stderr and "Traceback" not in done.stderr
    missing_key = _yanxing("console", "--config", str(_write(tmp_path, GOOD)),
                           env={"CONSOLE_SECRET": "s" * 40})
    assert missing_key.returncode == 2 and "Traceback" not in missing_key.stderr
    assert "key_file" in missing_key.stderr, missing_key.stderr


def test_hash_password_prints_an_argon2id_hash(tmp_path: Path) -> None:
    done = _yanxing("console", "hash-password", stdin="a long enough password\n")
    assert done.returncode == 0 and done.stdout.startswith("$argon2id$")
    short = _yanxing("console", "hash-password", stdin="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
