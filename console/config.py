"""console.toml: which hub, which party the console speaks for, its key and its officials.

    [console]
    hub_url = "http://127.0.0.1:8000"
    audience = "yanxing-hub"                 # the hub's id in the trust registry
    party = "xuzhou-county-org"
    party_name = "叙州区委组织部"
    kid = "xuzhou-county-org-1"
    key_file = "keys/xuzhou-county-org.key.pem"   # never sent to a browser
    purpose = "co-management"                # a purpose the party's contracts declare

    [console.purposes]                        # optional: a page's own purpose, where the
    reconcile = "reconciliation"              # contracts declare one (page slug = purpose)
    session_secret = "${YANXING_CONSOLE_SECRET}"   # signs session cookies; from the environment
    session_minutes = 30                      # idle time after which an official signs in again
    secure_cookies = false                    # true behind HTTPS (always, in production)

    [[officials]]
    user = "xz-secretary"                    # the token's `sub`: an id, never a name
    name = "王书记"
    role = "secretary"                       # secretary | staff | observer
    password_hash = "$argon2id$..."          # `yanxing console hash-password`

Relative paths are read from the file's folder; `${NAME}` is taken from the environment, so no
secret needs to be in the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ConsoleConfig", "ConsoleConfigError", "OfficialEntry", "load_console_config",
           "ROLES"]

#: what an official may do in the console; the hub's contracts still decide every answer
ROLES = ("secretary", "staff", "observer")
_ENV = re.compile(r"\$\{([A-Z0-9_]+)\}")


class ConsoleConfigError(Exception):
    """console.toml is missing, unreadable or wrong: each problem says what to fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class OfficialEntry:
    user: str
    name: str
    role: str
    password_hash: str


@dataclass(frozen=True)
class ConsoleConfig:
    hub_url: str
    audience: str
    party: str
    party_name: str
    kid: str
    key_file: Path
    purpose: str
    session_secret: str
    officials: tuple[OfficialEntry, ...]
    session_minutes: int = 30
    secure_cookies: bool = False
    #: page slug -> the purpose its tokens carry (the others carry `purpose`)
    purposes: Mapping[str, str] = field(default_factory=dict)

    def purpose_for(self, page: str) -> str:
        return self.purposes.get(page, self.purpose)


def _expand(value: str, env: Mapping[str, str], problems: list[str], where: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            problems.append(f"{where}: environment variable {name} is not set")
            return ""
        return env[name]
    return _ENV.sub(one, value)


def load_console_config(path: Path | str, env: Mapping[str, str] | None = None) -> ConsoleConfig:
    """Read and check console.toml; every problem is listed at once."""
    path = Path(path)
    env = os.environ if env is None else env
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConsoleConfigError([f"cannot read {path}: {exc.strerror or exc}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConsoleConfigError([f"{path} is not valid TOML: {exc}"]) from exc
    problems: list[str] = []
    section: Any = raw.get("console")
    if not isinstance(section, dict):
        raise ConsoleConfigError([f"{path}: the [console] table is missing"])

    def text(key: str, default: str | None = None) -> str:
        value = section.get(key, default)
        if not isinstance(value, str) or not value:
            problems.append(f"[console] {key} must be a non-empty string")
            return ""
        return _expand(value, env, problems, f"[console] {key}")

    config_dir = path.resolve().parent
    key_file = Path(text("key_file"))
    key_file = key_file if key_file.is_absolute() else config_dir / key_file
    secret = text("session_secret")
    if secret and len(secret) < 32:
        problems.append("[console] session_secret must be at least 32 characters "
                        "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")
    minutes = section.get("session_minutes", 30)
    if not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
        problems.append("[console] session_minutes must be an integer from 1 to 1440")
        minutes = 30
    secure = section.get("secure_cookies", False)
    if not isinstance(secure, bool):
        problems.append("[console] secure_cookies must be true or false")
        secure = False
    officials = _officials(raw.get("officials"), problems)
    purposes = section.get("purposes", {})
    if not isinstance(purposes, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in purposes.items()):
        problems.append("[console.purposes] maps page names to purposes (non-empty strings)")
        purposes = {}
    values = dict(hub_url=text("hub_url").rstrip("/"), audience=text("audience"),
                  party=text("party"), party_name=text("party_name"), kid=text("kid"),
                  purpose=text("purpose"))
    if problems:
        raise ConsoleConfigError(problems)
    return ConsoleConfig(**values, key_file=key_file, session_secret=secret,
                         officials=officials, session_minutes=minutes, secure_cookies=secure,
                         purposes=dict(purposes))


def _officials(raw: Any, problems: list[str]) -> tuple[OfficialEntry, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("[[officials]]: at least one official is needed")
        return ()
    seen: set[str] = set()
    entries: list[OfficialEntry] = []
    for number, item in enumerate(raw, 1):
        where = f"[[officials]] #{number}"
        if not isinstance(item, dict):
            problems.append(f"{where} must be a table")
            continue
        values = {k: item.get(k) for k in ("user", "name", "role", "password_hash")}
        bad = [k for k, v in values.items() if not isinstance(v, str) or not v]
        if bad:
            problems.append(f"{where}: {', '.join(bad)} must be non-empty strings")
            continue
        if values["role"] not in ROLES:
            problems.append(f"{where}: role must be one of {', '.join(ROLES)}")
            continue
        if not str(values["password_hash"]).startswith("$argon2"):
            problems.append(f"{where}: password_hash must be an argon2 hash "
                            "(yanxing console hash-password)")
            continue
        if values["user"] in seen:
            problems.append(f"{where}: user {values['user']} appears twice")
            continue
        seen.add(str(values["user"]))
        entries.append(OfficialEntry(**{k: str(v) for k, v in values.items()}))
    return tuple(entries)
