"""The audit write through the SQLite driver (hub.store.direct) chains, retries and fails as
the write through SQLAlchemy does."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hub.audit import AuditLog, verify_log
from hub.audit import log as log_module
from hub.audit.log import AuditMemberRow
from hub.store.session import create_engine, create_session_factory, init_db
from tests.audit.test_audit_log import event, mkey

HUB = Ed25519PrivateKey.generate()


async def test_two_writers_keep_one_chain(db_url: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each log chains on the head it last wrote; when the other took those numbers the
    direct INSERT fails on `seq` and the write is done again under the chain lock."""
    direct: list[int] = []
    insert_rows = log_module._insert_rows

    def counted(connection: Any, statements: Any) -> None:
        direct.append(len(statements[0][1]))
        insert_rows(connection, statements)

    monkeypatch.setattr(log_module, "_insert_rows", counted)
    engine = create_engine(db_url)
    await init_db(engine)
    sessions = create_session_factory(engine)
    first = AuditLog(sessions, signing_key=HUB, kid="hub-1", checkpoint_every=4,
                     engine=engine)
    second = AuditLog(sessions, signing_key=HUB, kid="hub-1", checkpoint_every=4)
    try:
        seqs = [await log.append(event(n, members=(n, 1)))
                for n, log in enumerate((first, second, first, first, second, first), 1)]
        assert seqs == [1, 2, 3, 4, 5, 6]
        report = await verify_log(sessions, HUB.public_key())
        assert report.ok and report.entries == 6 and report.checkpoints == 1
        async with sessions() as session:
            indexed = (await session.execute(
                select(AuditMemberRow.seq, AuditMemberRow.member_key))).all()
        assert sorted(indexed) == sorted(
            [(n, mkey(n)) for n in range(1, 7)] + [(n, mkey(1)) for n in range(2, 7)])
        # SQLite: the writes chained on a known head went through the driver directly (the
        # first of each log, the retries and the checkpoint's through SQLAlchemy)
        assert (len(direct) >= 2) == (engine.dialect.name == "sqlite")
    finally:
        await first.close()
        await engine.dispose()


async def test_a_failed_write_is_not_committed(db_url: str) -> None:
    """No member index table: the entry's INSERT is rolled back with it, the append fails
    (the API withholds the answer), and the log stays as it was."""
    engine = create_engine(db_url)
    await init_db(engine)
    sessions = create_session_factory(engine)
    log = AuditLog(sessions, engine=engine)
    try:
        assert await log.append(event(1)) == 1
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE audit_members"))
        with pytest.raises(DBAPIError):
            await log.append(event(2))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM audit_entries"))).scalar() \
                == 1
    finally:
        await log.close()
        await engine.dispose()
