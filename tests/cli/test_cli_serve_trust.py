"""`[trust]` in yanxing.toml (hub.settings): validated with the rest of the file (every problem
at once, exit 2 through the CLI), picked up by `yanxing serve --config`, served enforcing by
the settings-built app over real HTTP; `--trust FILE` still overrides, with a deprecation note."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.cli import main
from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.settings import load_settings

SECRET = "s" * 40
PARTIES = [("wenjiang", "温江区委组织部", ["510115"]), ("luxian", "泸县委组织部", ["510521"])]


def _write(tmp: Path, trust_table: str) -> Path:
    config = tmp / "yanxing.toml"
    config.write_text(
        f'[hub]\ndatabase_url = "sqlite+aiosqlite:///hub.db"\nsecret = "{SECRET}"\n\n'
        + trust_table, encoding="utf-8")
    return config


def _trust_table(demo: DemoTrust, base: Path, **extra: str) -> str:
    def rel(p: Path) -> str:
        return p.relative_to(base).as_posix()

    values = {
        "registry": f'"{rel(demo.registry_path)}"',
        "hub_public_key": f'"{rel(demo.hub_public_key_path)}"',
        "hub_private_key": f'"{rel(demo.hub_private_key_path)}"',
        "audience": f'"{demo.hub_id}"',
        "checkpoint_every": "2",
        "contracts": "[" + ", ".join(f'"{rel(p)}"' for p in demo.contracts.values()) + "]",
        **extra,
    }
    return "[trust]\n" + "".join(f"{k} = {v}\n" for k, v in values.items() if v)


def test_bad_trust_entries_are_reported_together(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    config = _write(tmp_path, _trust_table(
        demo, tmp_path, registry='"trust/missing-registry.json"',
        hub_public_key='"trust/keys"', enforce='"yes"', checkpoint_every="0",
        refresh="true") + '\n[limits]\nmax_depth = 0\n')
    assert main(["serve", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "configuration is invalid" in err
    for expected in ("trust.registry: file not found", "missing-registry.json",
                     "trust.hub_public_key: file not found", "unknown key 'refresh'",
                     "trust.enforce must be true or false", "trust.checkpoint_every",
                     "limits.max_depth"):
        assert expected in err, (expected, err)
    # the same through the loader: one ConfigError, paths resolved against the file
    config.write_text(config.read_text(encoding="utf-8").replace("[limits]\nmax_depth = 0", ""),
                      encoding="utf-8")
    with pytest.raises(Exception) as info:
        load_settings(config)
    assert len(info.value.problems) == 5, info.value.problems  # type: ignore[attr-defined]


def test_trust_table_resolves_paths_against_the_file(tmp_path: Path) -> None:
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    settings = load_settings(_write(tmp_path, _trust_table(demo, tmp_path)))
    assert settings.trust is not None
    assert settings.trust.registry_path == demo.registry_path.resolve()
    assert settings.trust.contracts == tuple(p.resolve() for p in demo.contracts.values())
    assert settings.trust.enforce is True and settings.trust.checkpoint_every == 2
    assert load_settings(_write(tmp_path, "")).trust is None


def test_serve_picks_up_trust_and_trust_flag_overrides(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    import hub.app

    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    config = _write(tmp_path, _trust_table(demo, tmp_path))
    seen: list[Any] = []
    assert main(["db", "upgrade", "--config", str(config)]) == 0  # serve never migrates
    monkeypatch.setattr(hub.app, "create_app",
                        lambda settings, trust=None, **_: (settings, trust))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.append(app))
    assert main(["serve", "--config", str(config), "--port", "0"]) == 0
    settings, trust = seen[-1]
    assert trust == settings.trust and trust is not None
    # --trust FILE (deprecated) overrides, and says so
    override = tmp_path / "other" / "trust.toml"
    override.parent.mkdir()
    override.write_text(_trust_table(demo, override.parent.parent).replace(
        '"trust/', '"../trust/').replace("checkpoint_every = 2", "checkpoint_every = 7"),
        encoding="utf-8")
    assert main(["serve", "--config", str(config), "--trust", str(override)]) == 0
    assert seen[-1][1].checkpoint_every == 7
    assert "--trust is deprecated" in capsys.readouterr().err


async def test_settings_built_app_serves_under_trust(tmp_path: Path) -> None:
    import uvicorn

    from hub.app import create_app
    from hub.audit.log import AuditEntryRow

    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    settings = load_settings(_write(tmp_path, _trust_table(demo, tmp_path)))
    assert not settings.hub.mode.is_development  # what `yanxing serve` serves by default
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/graphql"
        query = {"query": "{ contracts { id state } }"}
        async with httpx.AsyncClient(timeout=30) as client:
            anonymous = await client.post(url, json=query)
            assert anonymous.status_code == 401
            assert anonymous.json()["errors"][0]["extensions"]["reason"] == "missing"
            token = demo.token_for("wenjiang")
            answer = await client.post(url, json=query,
                                       headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        states = {c["id"]: c["state"] for c in answer.json()["data"]["contracts"]}
        assert states == {"wenjiang--luxian": "active"}  # submitted from [trust].contracts
    finally:
        server.should_exit = True
        await task
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with Session(engine) as session:
        assert session.scalars(select(AuditEntryRow)).all()  # the request was audited
    engine.dispose()
