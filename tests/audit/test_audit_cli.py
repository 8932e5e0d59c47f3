"""`yanxing audit verify` passes on an intact log and fails (exit 2) on a tampered copy."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from hub.audit import AuditEvent, AuditLog, Decision
from hub.audit.log import AuditEntryRow
from hub.cli import main
from hub.contracts.keys import load_private_key, new_key_files
from hub.store.session import create_engine, create_session_factory, init_db


async def _make_log(url: str, key_file: Path) -> None:
    engine = create_engine(url)
    await init_db(engine)
    sessions = create_session_factory(engine)
    log = AuditLog(sessions, signing_key=load_private_key(key_file), kid="hub-1")
    for n in range(3):
        await log.append(AuditEvent(
            at=datetime(2025, 6, 1, tzinfo=UTC), party="xuzhou", user=f"u{n}", purpose="p",
            decision=Decision.ALLOWED, operation_hash="0" * 64,
            member_keys=[hashlib.sha256(b"m").hexdigest()]))
    await log.checkpoint()
    await engine.dispose()


async def _tamper(url: str) -> None:
    engine = create_engine(url)
    async with create_session_factory(engine).begin() as s:
        await s.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 2)
                        .values(body=AuditEntryRow.body + " "))
    await engine.dispose()


async def test_audit_verify_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = new_key_files(tmp_path / "keys", "hub-1")
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    await _make_log(url, files.private)
    import asyncio

    loop = asyncio.get_running_loop()
    argv = ["audit", "verify", "--db", url, "--hub-key", str(files.public_jwk)]
    assert await loop.run_in_executor(None, main, argv) == 0
    assert "audit log intact: 3 entries, 1 signed checkpoints" in capsys.readouterr().out
    await _tamper(url)
    assert await loop.run_in_executor(None, main, argv) == 2
    assert "entry 2: content does not match its hash (edited)" in capsys.readouterr().err
