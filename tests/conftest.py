"""Shared fixtures: the hub's index store on a real database.

`db_url` is parametrized: always a fresh SQLite file, plus PostgreSQL when
YANXING_TEST_DATABASE_URL is set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test).
Each PostgreSQL test gets its own database, dropped afterwards, so parallel or repeated runs
never see each other's rows. With CI=true an unreachable PostgreSQL fails the
test instead of skipping it: a CI run that silently skipped PostgreSQL would prove nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.store.session import create_engine, create_session_factory, init_db

if TYPE_CHECKING:
    from tests.wheel_build import Installed

PG_ENV = "YANXING_TEST_DATABASE_URL"
_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])

#: a hub secret for tests (32+ bytes, as settings require)
TEST_SECRET = b"yanxing-test-secret-0123456789abcdef"


@pytest.fixture
def secret() -> bytes:
    return TEST_SECRET


@pytest.fixture(params=_BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db_url(db_backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a fresh, empty database: a SQLite file, or a new PostgreSQL database dropped after
    the test (creating one takes ~40 ms and gives every test a real, isolated URL)."""
    if db_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'index.db'}"
        return
    base = make_url(os.environ[PG_ENV])
    name = f"yx_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # asyncpg and SQLAlchemy wrap connection failures variously
        await admin.dispose()
        message = f"PostgreSQL at ${PG_ENV} is unreachable: {type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded to head by the real migrations, once per run: copying it
    (~1 ms) is what each SQLite test's `engine` starts from, instead of migrating anew
    (~60-90 ms each; tests/store/test_migrations.py covers upgrading empty databases)."""
    path = tmp_path_factory.mktemp("migrated") / "head.db"

    async def build() -> None:
        eng = create_engine(f"sqlite+aiosqlite:///{path}")
        await init_db(eng)
        await eng.dispose()  # the last connection's close checkpoints the WAL into the file

    asyncio.run(build())
    assert not path.with_name("head.db-wal").exists()
    return path


@pytest.fixture
async def engine(db_url: str, migrated_sqlite: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on `db_url` with every table at the migrations' head; disposed afterwards."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        shutil.copyfile(migrated_sqlite, url.database)
    eng = create_engine(db_url)
    await init_db(eng)  # PostgreSQL: the migrations run; the SQLite copy is at head already
    yield eng
    await eng.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def db(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session on the test database, for tests that only need to read or write a little."""
    async with session_factory() as session:
        yield session


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The project's wheel, built and installed into a fresh venv once per run
    (tests/wheel_build.py): tests/test_wheel.py and tests/deploy/ share it."""
    from tests.wheel_build import build_and_install

    return build_and_install(tmp_path_factory.mktemp("wheel"))
