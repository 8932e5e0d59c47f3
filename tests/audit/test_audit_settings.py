"""The audit keys of `[trust]`: validated with the rest of yanxing.toml, sensible defaults,
and `yanxing audit verify --config` finds the database, hub key and anchor file from them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.audit import AuditEvent, AuditLog, Decision
from hub.cli import main
from hub.contracts.demo import build_demo_trust
from hub.contracts.keys import load_private_key
from hub.errors import ConfigError
from hub.settings import load_settings
from hub.store.session import create_engine, create_session_factory, init_db

PARTIES = [("wenjiang", "温江区委组织部", ["510115"]), ("luxian", "泸县委组织部", ["510521"])]


_DEMOS: dict[Path, Any] = {}


def write_config(tmp: Path, extra: str = "") -> Path:
    demo = (build_demo_trust(tmp / "trust", PARTIES) if not (tmp / "trust").exists()
            else _DEMOS[tmp])
    _DEMOS[tmp] = demo
    config = tmp / "yanxing.toml"
    config.write_text(
        '[hub]\ndatabase_url = "sqlite+aiosqlite:///hub.db"\nsecret = "' + "s" * 40 + '"\n\n'
        f'[trust]\nregistry = "{demo.registry_path.relative_to(tmp).as_posix()}"\n'
        f'hub_public_key = "{demo.hub_public_key_path.relative_to(tmp).as_posix()}"\n'
        f'hub_private_key = "{demo.hub_private_key_path.relative_to(tmp).as_posix()}"\n'
        'checkpoint_every = 3\n' + extra, encoding="utf-8")
    return config


def test_defaults_anchor_next_to_the_config(tmp_path: Path) -> None:
    trust = load_settings(write_config(tmp_path)).trust
    assert trust is not None
    assert trust.audit_anchor == (tmp_path / "audit-anchor.jsonl").resolve()
    assert (trust.audit_rejections_per_minute, trust.audit_rejections_total_per_minute) == (
        10, 300)
    # an absolute path is kept as written (its folder must exist: no /tmp/x on a fresh machine)
    (tmp_path / "x").mkdir()
    anchor = f"{tmp_path.as_posix()}/x/../a.jsonl"
    trust = load_settings(write_config(tmp_path, f'audit_anchor = "{anchor}"\n'
                                       "audit_rejections_per_minute = 3\n")).trust
    assert trust is not None and trust.audit_anchor == Path(anchor)
    assert trust.audit_rejections_per_minute == 3


def test_bad_audit_keys_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    with pytest.raises(ConfigError) as info:
        load_settings(write_config(tmp_path, 'audit_anchor = "nowhere/anchor.jsonl"\n'
                                   "audit_rejections_per_minute = 0\n"
                                   'audit_rejections_total_per_minute = "many"\n'))
    text = "\n".join(info.value.problems)
    assert "trust.audit_anchor: directory not found" in text
    assert "trust.audit_rejections_per_minute must be an integer 1..10000, got 0" in text
    assert "trust.audit_rejections_total_per_minute must be an integer" in text
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(write_config(tmp_path, 'audit_anchor = "adir"\n'))


async def _log(config: Path) -> None:
    trust = load_settings(config).trust
    assert trust is not None and trust.hub_private_key_path is not None
    engine = create_engine(load_settings(config).hub.database_url)
    try:
        await init_db(engine)
        log = AuditLog(create_session_factory(engine),
                       signing_key=load_private_key(trust.hub_private_key_path), kid="hub-1",
                       checkpoint_every=trust.checkpoint_every, anchor=trust.audit_anchor)
        for n in range(7):
            await log.append(AuditEvent(at=datetime(2026, 1, 1, tzinfo=UTC), party="luxian",
                                        user=f"u{n}", purpose="co-management",
                                        decision=Decision.ALLOWED, operation_hash="0" * 64))
        await log.close()
    finally:
        await engine.dispose()


def test_verify_with_config_checks_the_anchor(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    asyncio.run(_log(config))
    assert main(["audit", "verify", "--config", str(config)]) == 0
    assert "7 entries, 2 signed checkpoints, 2 anchored outside the database" in (
        capsys.readouterr().out)
    (tmp_path / "audit-anchor.jsonl").unlink()
    assert main(["audit", "verify", "--config", str(config)]) == 2
    assert "audit-anchor.jsonl not found" in capsys.readouterr().err


def test_verify_needs_to_know_where_the_log_is(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify"]) == 2
    assert "--config yanxing.toml" in capsys.readouterr().err
