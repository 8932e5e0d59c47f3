"""Several hub processes on one database write one audit hash chain: four real processes
append concurrently, then `verify_log` finds an unbroken chain (no fork, no gap) holding every
entry each process reported committed, and every checkpoint signed once (SQLite file and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import func, select

from hub.audit import verify_log
from hub.audit.log import AuditCheckpointRow, AuditEntryRow
from hub.store.session import create_engine, create_session_factory, init_db

WRITER = Path(__file__).with_name("_writer.py")
ROOT = Path(__file__).resolve().parents[2]
#: seconds each writer appends for (YANXING_AUDIT_WRITERS_SECONDS: longer soak runs)
SECONDS = float(os.environ.get("YANXING_AUDIT_WRITERS_SECONDS", "4"))


async def test_four_processes_write_one_unbroken_chain(db_url: str, tmp_path: Path) -> None:
    engine = create_engine(db_url)
    await init_db(engine)
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "hub.key.pem"
    key_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [await asyncio.create_subprocess_exec(
        sys.executable, str(WRITER), db_url, str(key_file), str(SECONDS), str(w),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
        for w in range(4)]
    reports = []
    for process in writers:
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    committed = sum(r["committed"] for r in reports)
    assert all(r["committed"] > 0 for r in reports), reports
    assert sum(r["failed"] for r in reports) == 0, reports
    sessions = create_session_factory(engine)
    async with sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(AuditEntryRow))
        checkpoints = await session.scalar(select(func.count()).select_from(AuditCheckpointRow))
    report = await verify_log(sessions, key.public_key())
    await engine.dispose()
    assert report.problems == (), report.problems
    assert stored == committed  # nothing lost, nothing written twice
    assert checkpoints == committed // 10
