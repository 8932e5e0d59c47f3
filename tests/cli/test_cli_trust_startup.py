"""Trust-mode startup problems are listed together and exit 2 like configuration errors
(issue 10: adding a new party under [trust] ended in a traceback): a source owned by a party
the registry lacks, a hub private key that is not the hub's, a contract file that is no signed
contract. Fixing them, through the registry commands, lets `serve` get past its checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub.cli import main
from hub.contracts.demo import build_demo_trust

PARTIES = [("wenjiang", "温江区委组织部", ["510115"]), ("luxian", "泸县委组织部", ["510521"])]
MAPPING = """[source]
name = "county"
kind = "sql"
side = "origin"
[connection]
url = "sqlite+aiosqlite:///county.db"
[entities.member]
path = "members"
local_id = "id"
[entities.member.fields]
name = "xm"
"""


def _world(tmp_path: Path, *, owner: str, private: str, contracts: list[str]) -> Path:
    with sqlite3.connect(tmp_path / "county.db") as db:
        db.execute("CREATE TABLE IF NOT EXISTS members (id TEXT PRIMARY KEY, xm TEXT)")
    (tmp_path / "county.toml").write_text(MAPPING, encoding="utf-8")
    config = tmp_path / "yanxing.toml"
    config.write_text(
        f'[hub]\ndatabase_url = "sqlite+aiosqlite:///hub.db"\nsecret = "{"s" * 40}"\n\n'
        f'[[sources]]\nmapping = "county.toml"\nowner = "{owner}"\n\n'
        '[trust]\nregistry = "trust/registry.json"\nhub_public_key = "trust/keys/hub-1.jwk.json"\n'
        f'hub_private_key = "{private}"\naudience = "yanxing-hub"\n'
        f"contracts = [{', '.join(repr(c).replace(chr(39), chr(34)) for c in contracts)}]\n",
        encoding="utf-8")
    return config


def test_every_trust_problem_is_listed_with_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    assert (tmp_path / "trust" / "keys" / "hub-1.jwk.json").is_file()
    (tmp_path / "not-a-contract.json").write_text('{"hello": 1}', encoding="utf-8")
    config = _world(tmp_path, owner="newparty", private="trust/keys/luxian-1.key.pem",
                    contracts=["not-a-contract.json"])
    assert main(["serve", "--config", str(config), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("yanxing: configuration is invalid:\n")
    lines = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(lines) == 3, err
    assert "trust.hub_private_key does not match trust.hub_public_key" in err
    assert "missing from the trust registry: newparty; add them with `yanxing registry " \
           "add-party`" in err
    assert "trust.contracts (" in err and "not-a-contract.json" in err

    # the way out, as docs/adding-a-system.md shows it: add the party with a key, sign again
    draft = tmp_path / "trust" / "registry.draft.json"  # written by the demo's trust builder
    keys = tmp_path / "trust" / "keys"
    assert main(["keys", "new", "--out", str(keys), "--kid", "newparty-1"]) == 0
    assert main(["registry", "add-party", str(draft), "--id", "newparty", "--name", "新平台",
                 "--region", "510521"]) == 0
    assert main(["registry", "add-key", str(draft), "--party", "newparty", "--public",
                 str(keys / "newparty-1.jwk.json"), "--kid", "newparty-1"]) == 0
    assert main(["registry", "sign", str(draft), "--key", str(keys / "hub-1.key.pem"),
                 "--out", str(tmp_path / "trust" / "registry.json")]) == 0
    contract = next(iter(demo.contracts.values())).relative_to(tmp_path).as_posix()
    config = _world(tmp_path, owner="newparty", private="trust/keys/hub-1.key.pem",
                    contracts=[contract])
    capsys.readouterr()
    # past the trust checks: the next stop is the unmigrated database (exit 2, one line)
    assert main(["serve", "--config", str(config), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "configuration is invalid" not in err and "yanxing db upgrade" in err, err
