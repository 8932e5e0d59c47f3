"""The CLI end to end on real files and SQLite: keys, registry, contract, token, audit."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from contract_world import CONTRACT

from hub.cli import main
from hub.clock import format_time, utcnow

SDL = """
type Member { key: ID! name: String idNumber: String phone: String birthDate: String
  employer: String occupation: String destinationAddress: String originOrgName: String
  willingVillageCadre: Boolean }
type Query { member(key: ID!): Member }
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys"
    for kid in ("hub-1", "wj-1", "xz-1"):
        assert run(capsys, "keys", "new", "--out", keys, "--kid", kid)[0] == 0
    draft, signed = tmp_path / "draft.json", tmp_path / "registry.json"
    assert run(capsys, "registry", "init", draft, "--hub-id", "yanxing-hub",
               "--hub-kid", "hub-1")[0] == 0
    for pid, region, kid in (("wenjiang", "510115", "wj-1"), ("xuzhou", "511504", "xz-1")):
        assert run(capsys, "registry", "add-party", draft, "--id", pid, "--name", pid,
                   "--region", region)[0] == 0
        assert run(capsys, "registry", "add-key", draft, "--party", pid, "--public",
                   keys / f"{kid}.jwk.json", "--kid", kid,
                   "--not-before", "2020-01-01T00:00:00Z", "--days", "20000")[0] == 0
    assert run(capsys, "registry", "sign", draft, "--key", keys / "hub-1.key.pem",
               "--out", signed)[0] == 0
    code, out, _ = run(capsys, "registry", "show", signed, "--hub-key", keys / "hub-1.jwk.json")
    assert code == 0 and "wj-1" in out and "version 1" in out
    code, _, err = run(capsys, "registry", "show", signed, "--hub-key", keys / "wj-1.jwk.json")
    assert code == 2 and "not signed by the hub key" in err and "Traceback" not in err

    doc = copy.deepcopy(CONTRACT)
    now = utcnow()
    doc["validity"]["not_before"] = format_time(now.replace(year=now.year - 1))
    doc["validity"]["not_after"] = format_time(now.replace(year=now.year + 1))
    contract, sdl = tmp_path / "contract.json", tmp_path / "yanxing.graphql"
    contract.write_text(json.dumps(doc, ensure_ascii=False))
    sdl.write_text(SDL)
    code, out, _ = run(capsys, "contract", "lint", contract, "--sdl", sdl)
    assert code == 0 and "contract is valid" in out
    for kid in ("wj-1", "xz-1", "hub-1"):
        assert run(capsys, "contract", "sign", contract, "--key", keys / f"{kid}.key.pem")[0] == 0
    db = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    common = ("--db", db, "--registry", signed, "--hub-key", keys / "hub-1.jwk.json")
    code, out, _ = run(capsys, "contract", "submit", contract, *common)
    assert code == 0 and " active " in out
    digest = out.split()[3]
    code, out, _ = run(capsys, "contract", "show", "--db", db, "--party", "xuzhou")
    assert code == 0 and "NOT SIGNED" not in out
    code, out, _ = run(capsys, "contract", "revoke", *common, "--digest", digest,
                       "--key", keys / "xz-1.key.pem", "--reason", "协议到期")
    assert code == 0 and "revoked by xuzhou" in out
    code, _, err = run(capsys, "contract", "revoke", *common, "--digest", digest,
                       "--key", keys / "xz-1.key.pem", "--reason", "again")
    assert code == 2 and "terminal states are final" in err

    code, out, _ = run(capsys, "token", "--party", "xuzhou", "--user", "u1", "--purpose",
                       "co-management", "--key", keys / "xz-1.key.pem")
    assert code == 0 and out.count(".") == 2

    # the contract commands bring their database to the whole schema (audit tables too), so
    # an unreadable audit log is a database without the hub's tables
    no_tables = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    code, _, err = run(capsys, "audit", "verify", "--db", no_tables, "--hub-key",
                       keys / "hub-1.jwk.json")
    assert code == 2 and "cannot read the audit log" in err


def test_cli_lint_reports_unknown_field(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    doc = copy.deepcopy(CONTRACT)
    doc["permissions"]["read"][0]["fields"]["Member"]["salary"] = "full"
    contract, sdl = tmp_path / "c.json", tmp_path / "s.graphql"
    contract.write_text(json.dumps(doc))
    sdl.write_text(SDL)
    code, out, _ = run(capsys, "contract", "lint", contract, "--sdl", sdl)
    assert code == 2 and "Member.salary is not in the published schema" in out
