"""Engine and session factory for the member index, on SQLite (default) or PostgreSQL.

One `AsyncEngine` per process, opened in the app lifespan or a CLI command and disposed there;
one `AsyncSession` per task (sqlalchemy `examples/asyncio/async_orm.py`). `init_db` brings the
database to the code's schema by running the migrations (hub.store.migrate), never
`create_all`, which would not alter a table a deployed hub already has.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

__all__ = ["create_engine", "create_session_factory", "init_db", "is_sqlite"]


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a sync writes; foreign keys are off by default in SQLite;
    # busy_timeout waits for a writer instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB of page cache (the default is 2 MiB): a province's index (250,000 members) has
    # indexes on random keys much larger than that, and a sync inserting into them then reads
    # most of its pages back from the file (100,000 members: 200 -> 166 us CPU a member)
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Open an engine for `url` (`sqlite+aiosqlite:///...` or `postgresql+asyncpg://...`).

    Extra keyword arguments go to `create_async_engine` (tests pass a PostgreSQL
    `search_path` through `connect_args` to isolate each test in its own schema).
    """
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite" and "module" not in kwargs:
        from hub.store.sqlite_driver import one_hop_dbapi

        kwargs["module"] = one_hop_dbapi()  # one thread hop per statement, not four
    engine = _create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit, so results outlive the transaction."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def init_db(engine: AsyncEngine) -> None:
    """Upgrade the database to the migrations' head: every table of the hub (idempotent)."""
    from hub.store.migrate import upgrade  # alembic loads only where a schema is prepared

    await upgrade(engine)
