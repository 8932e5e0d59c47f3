"""CLI errors are a clear message and exit 2, never a traceback (issue 6 §2), running the real
`yanxing` (python -m hub) where a traceback could slip past `main()`: `audit verify --db
notaurl`, `contract show` after a revocation, `serve` with a tampered registry or contract,
a hub restarted after a contract it submits at startup was revoked, and out-of-range numbers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hub.cli import main
from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.settings import load_settings
from tests.cli.test_cli_serve_trust import PARTIES, _trust_table, _write


def yanxing(cwd: Path, *argv: object, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real command line in a process of its own: what an operator sees."""
    return subprocess.run([sys.executable, "-m", "hub", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def assert_clean_failure(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and 'File "' not in output, output
    for text in expected:
        assert text in result.stderr, (text, result.stderr)


def _world(tmp_path: Path) -> tuple[DemoTrust, Path]:
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    return demo, _write(tmp_path, _trust_table(demo, tmp_path))


def test_audit_verify_with_a_bad_db_url(tmp_path: Path) -> None:
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    assert_clean_failure(yanxing(tmp_path, "audit", "verify", "--db", "notaurl", "--hub-key",
                                 demo.hub_public_key_path), "--db is not a database URL")


@pytest.mark.parametrize("command", [["audit", "verify", "--hub-key", "k.pem"],
                                     ["contract", "show"]])
@pytest.mark.parametrize("url, expected", [
    ("notaurl", "--db is not a database URL"),
    ("sqlite:///hub.db", "--db: use the async driver: sqlite+aiosqlite://"),
    ("mysql+aiomysql://u@h/d", "--db: unsupported database 'mysql'"),
])
def test_bad_db_urls_are_named(capsys: pytest.CaptureFixture[str], command: list[str],
                               url: str, expected: str) -> None:
    assert main([*command, "--db", url]) == 2
    assert expected in capsys.readouterr().err


def _tamper_payload(path: Path) -> None:
    """Change one region code inside the signed payload, keeping the signature."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    payload = doc["payload"]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"510115" in raw
    doc["payload"] = base64.urlsafe_b64encode(raw.replace(b"510115", b"510116", 1)) \
        .rstrip(b"=").decode()
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_serve_with_a_tampered_registry(tmp_path: Path) -> None:
    demo, config = _world(tmp_path)
    _tamper_payload(demo.registry_path)
    assert_clean_failure(yanxing(tmp_path, "serve", "--config", config, "--port", "0"),
                         "trust.registry", "not signed by the hub key")
    demo.registry_path.write_text('{"payload": ', encoding="utf-8")
    assert_clean_failure(yanxing(tmp_path, "serve", "--config", config, "--port", "0"),
                         "trust.registry", "not valid JSON")


def test_serve_with_a_tampered_contract(tmp_path: Path) -> None:
    demo, config = _world(tmp_path)
    [contract] = demo.contracts.values()
    _tamper_payload(contract)
    assert_clean_failure(yanxing(tmp_path, "serve", "--config", config, "--port", "0"),
                         "trust.contracts", "does not verify")
    contract.write_text("garbage", encoding="utf-8")
    assert_clean_failure(yanxing(tmp_path, "serve", "--config", config, "--port", "0"),
                         "trust.contracts", "not valid JSON")


async def _serve_once(config: Path, demo: DemoTrust) -> dict[str, str]:
    """Start the hub from yanxing.toml on a real port, ask which contracts it holds, stop."""
    import uvicorn

    from hub.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(load_settings(config)), host="127.0.0.1",
                                           port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the hub did not start"
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        # listing its own contracts is own business: the own-data purpose works before and
        # after a revocation (a contract purpose needs an active contract declaring it)
        demo_token = demo.token_for("wenjiang", purpose="own-records")
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.post(f"http://127.0.0.1:{port}/graphql",
                                       json={"query": "{ contracts { id state } }"},
                                       headers={"Authorization": f"Bearer {demo_token}"})
        assert answer.status_code == 200, answer.text
        return {c["id"]: c["state"] for c in answer.json()["data"]["contracts"]}
    finally:
        server.should_exit = True
        await task


async def test_revoked_contract_shows_and_the_hub_restarts(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The contract [trust].contracts submits at every start is revoked by one party: `contract
    show` prints the revocation (it crashed on SQLite's zone-less time), and the next start
    leaves the contract out with a warning instead of refusing to start."""
    demo, config = _world(tmp_path)
    assert await _serve_once(config, demo) == {"wenjiang--luxian": "active"}
    db = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    shown = yanxing(tmp_path, "contract", "show", "--db", db)
    assert shown.returncode == 0, shown.stderr
    digest = shown.stdout.split()[3]
    kid, key = demo.party_keys["luxian"]
    revoked = yanxing(tmp_path, "contract", "revoke", "--db", db, "--registry",
                      demo.registry_path, "--hub-key", demo.hub_public_key_path, "--digest",
                      digest, "--key", key, "--kid", kid, "--reason", "协议终止")
    assert revoked.returncode == 0, revoked.stderr
    shown = yanxing(tmp_path, "contract", "show", "--db", db)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert " revoked " in shown.stdout and "revoked by luxian at 20" in shown.stdout
    assert shown.stdout.rstrip().endswith("Z")
    with caplog.at_level(logging.WARNING, logger="hub.contracts"):
        assert await _serve_once(config, demo) == {"wenjiang--luxian": "revoked"}
    assert "wenjiang--luxian v1" in caplog.text and "is revoked" in caplog.text


@pytest.mark.parametrize("argv, expected", [
    (["contract", "new", "c.json", "--id", "c", "--title", "t", "--party", "a:origin",
      "--days", "99999999999"], "days must be 1..36500"),
    (["registry", "add-key", "d.json", "--party", "p", "--public", "k.jwk.json", "--kid", "k",
      "--days", "0"], "days must be 1..36500"),
    (["serve", "--port", "99999999"], "port must be 0..65535"),
    (["demo", "--port", "-1"], "port must be 0..65535"),
    (["serve", "--port", "eighty"], "'eighty' is not a whole number"),
])
def test_out_of_range_numbers_are_usage_errors(capsys: pytest.CaptureFixture[str],
                                               argv: list[str], expected: str) -> None:
    """Used to overflow later (timedelta, the socket's bind) with a traceback."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and expected in capsys.readouterr().err


def test_a_busy_console_port_is_named_before_the_demo_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`yanxing demo` binds its six consoles' ports first: a taken one fails at once (exit 2)
    naming the port and the options, instead of after the demo's layout or with a traceback."""
    import socket

    hub = socket.socket()
    hub.bind(("127.0.0.1", 0))
    free = hub.getsockname()[1]
    hub.close()
    taken = socket.socket()
    taken.bind(("127.0.0.1", free + 1))
    taken.listen()
    try:
        code = main(["demo", "--port", str(free), "--dir", str(tmp_path / "demo")])
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"console port {free + 1}" in err and "--console-port" in err and \
        "Traceback" not in err
    assert not (tmp_path / "demo").exists(), "nothing was laid out"
