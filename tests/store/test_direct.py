"""Statements run through the SQLite driver directly (hub.store.direct) give what SQLAlchemy
gives: the same rows, the same types, the same errors; other drivers are left to SQLAlchemy."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, insert
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.api.loaders import _MEMBER_INDEX
from hub.audit.log import AuditEntryRow
from hub.contracts.store import _VERSIONS
from hub.store.direct import DirectStatement, compiled, fetch_rows, run_in_sqlite, sqlite_of
from hub.store.models import MemberRow, SourceLinkRow

pytestmark = pytest.mark.store

NOW = datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)


def key(n: int) -> str:
    return hashlib.sha256(f"m{n}".encode()).hexdigest()


async def _fill(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(MemberRow), [
            {"key": key(1), "name": "张三", "birth_date": date(1980, 2, 29), "status": "active",
             "indexed_at": NOW, "updated_at": NOW},
            {"key": key(2), "name": None, "birth_date": None, "status": None,
             "indexed_at": NOW, "updated_at": None},
            {"key": key(3), "name": "李四", "birth_date": None, "status": "moved",
             "indexed_at": NOW, "updated_at": NOW},
        ])
        await conn.execute(insert(SourceLinkRow), [
            {"source": s, "entity": "member", "local_id": f"{s}-{n}", "member_key": key(n),
             "fields": [], "routing": {}, "content_hash": "x", "fetched_at": NOW}
            for n, s in ((1, "a"), (1, "b"), (3, "a"))
        ])


async def test_member_index_rows_match_sqlalchemy(engine: AsyncEngine) -> None:
    await _fill(engine)
    async with engine.connect() as conn:
        driver = sqlite_of(conn)
        if engine.dialect.name != "sqlite":
            assert driver is None  # PostgreSQL: through SQLAlchemy as before
            return
        assert driver is not None
        statement = compiled(_MEMBER_INDEX, engine.dialect)
        # one, two and four keys (one unknown): each count of keys its own expanded SQL
        for keys in ([key(1)], [key(2), key(3)], [key(3), key(9), key(1), key(2)]):
            expected = (await conn.execute(_MEMBER_INDEX, {"keys": keys})).all()
            direct = await fetch_rows(driver, statement, {"keys": keys})
            assert [tuple(r) for r in direct] == [tuple(r) for r in expected]
            assert [r._fields for r in direct] == [r._fields for r in expected]
            assert [[type(v) for v in r] for r in direct] == \
                [[type(v) for v in r] for r in expected]
        row = (await fetch_rows(driver, statement, {"keys": [key(1)]}))[0]
        assert row.birth_date == date(1980, 2, 29) and row.indexed_at == NOW
        assert row.reported is False and row.source == "a"


async def test_versions_read_matches_sqlalchemy(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        driver = sqlite_of(conn)
        if driver is None:
            return
        direct = await fetch_rows(driver, DirectStatement(_VERSIONS, engine.dialect))
        assert [tuple(r) for r in direct] == \
            [tuple(r) for r in (await conn.execute(_VERSIONS)).all()]


async def test_driver_errors_are_sqlalchemy_errors(engine: AsyncEngine) -> None:
    statement = DirectStatement(insert(AuditEntryRow), engine.dialect,
                                ("seq", "body", "prev_hash", "entry_hash", "party"))
    values = {"seq": 1, "body": "{}", "prev_hash": "0", "entry_hash": "1", "party": None}
    async with engine.connect() as conn:
        driver = sqlite_of(conn)
        if driver is None:
            return

        def twice(connection: object, sql: str, args: tuple[object, ...]) -> None:
            try:
                for _ in range(2):
                    connection.execute(sql, args)  # type: ignore[attr-defined]
            finally:
                connection.rollback()  # type: ignore[attr-defined]

        import sqlite3
        with pytest.raises(sqlite3.IntegrityError) as raised:
            await run_in_sqlite(driver, twice, statement.sql(), statement.args(values))
        error = statement.translate(raised.value, None)
        assert isinstance(error, IntegrityError) and error.orig is raised.value
        assert "[parameters:" not in str(error)  # the row never reaches the text


def test_statements_needing_bind_processing_are_refused() -> None:
    # SQLite stores dates as text: SQLAlchemy's bind processor writes them, not the driver
    with pytest.raises(ValueError, match="bind processing"):
        DirectStatement(insert(MemberRow), SQLiteDialect_aiosqlite(), ("key", "birth_date"))


async def test_listeners_see_every_statement(engine: AsyncEngine) -> None:
    """Connection event listeners (instrumentation, tests counting statements) make every
    statement go through SQLAlchemy, where they see it."""
    async with engine.connect() as conn:
        if sqlite_of(conn) is None:
            return  # not the SQLite driver: through SQLAlchemy anyway
        seen: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute",
                     lambda *args: seen.append(args[2]))
        assert sqlite_of(conn) is None
