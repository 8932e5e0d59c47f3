"""The migrations are the schema: upgrading an empty database (SQLite, and PostgreSQL when
YANXING_TEST_DATABASE_URL is set) to head yields exactly the models' tables — Alembic's
autogenerate comparison finds nothing to do — and a database that `create_all` made before
migrations existed is adopted with its rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from hub.contracts.store import ContractStateRow
from hub.errors import SchemaOutOfDate
from hub.store.migrate import current_revision, head_revision, require_head, upgrade
from hub.store.models import MemberRow
from hub.store.session import create_engine, create_session_factory
from hub.tables import METADATA
from tests.store.legacy import create_0_1_0_tables

pytestmark = pytest.mark.store

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, METADATA))


async def test_upgrading_an_empty_database_gives_exactly_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert await current_revision(engine) is None
        with pytest.raises(SchemaOutOfDate, match="yanxing db upgrade"):
            await require_head(engine)
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        assert await require_head(engine) == head_revision()
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            # the seeded contract-state counter that StateWatch reads
            assert (await conn.execute(select(ContractStateRow.version))).all() == [(0,)]
        assert set(METADATA.tables) | {"alembic_version"} == tables
        # every package's tables are in the one MetaData
        assert {"members", "contracts", "audit_entries", "exchange_entries"} <= tables
        await upgrade(engine)  # at head: nothing to do, nothing fails
        async with engine.begin() as conn:  # the comparison does see a missing index
            await conn.execute(text("DROP INDEX ix_members_name"))
            assert [d[0] for d in await conn.run_sync(_diff)] == ["add_index"]
    finally:
        await engine.dispose()


async def test_a_database_made_by_create_all_is_adopted_with_its_rows(db_url: str) -> None:
    """A 0.1.0 hub created its tables with create_all and has no alembic_version."""
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(create_0_1_0_tables)
        async with create_session_factory(engine).begin() as session:
            session.add(MemberRow(key="k" * 64, name="张三", indexed_at=NOW))
        with pytest.raises(SchemaOutOfDate, match="no hub schema"):
            await require_head(engine)
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert (await conn.execute(select(MemberRow.name))).scalars().all() == ["张三"]
    finally:
        await engine.dispose()


async def test_a_revision_this_code_does_not_know_is_refused(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
        with pytest.raises(SchemaOutOfDate, match="does not know"):
            await require_head(engine)
    finally:
        await engine.dispose()
