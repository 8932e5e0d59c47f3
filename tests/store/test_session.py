"""The index store opens, creates its tables and enforces its constraints on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.store.models import Base, MemberRow, SourceLinkRow
from hub.store.session import create_engine, init_db

pytestmark = pytest.mark.store

NOW = datetime(2024, 5, 1, tzinfo=UTC)


async def test_init_db_creates_every_table_and_is_idempotent(engine: AsyncEngine) -> None:
    await init_db(engine)  # second run must not fail
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= names


async def test_sqlite_pragmas_are_set(tmp_path) -> None:
    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with eng.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await eng.dispose()


async def test_link_to_unknown_member_is_refused(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        session.add(
            SourceLinkRow(
                source="a", entity="member", local_id="1", member_key="nope",
                fields=[], routing={}, content_hash="x", fetched_at=NOW,
            )
        )
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_rows_round_trip_with_timezones(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        session.add(MemberRow(key="k" * 64, name="张三", indexed_at=NOW, updated_at=NOW))
        await session.commit()
    async with session_factory() as session:
        row = (await session.execute(select(MemberRow))).scalar_one()
    assert row.name == "张三"
    assert row.indexed_at.replace(tzinfo=row.indexed_at.tzinfo or UTC) == NOW
