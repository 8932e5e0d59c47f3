"""Alembic environment of the hub's database, async-aware.

hub.store.migrate runs Alembic inside the caller's event loop: it opens a connection on the
hub's `AsyncEngine` and passes the synchronous side of it in `config.attributes["connection"]`
(Alembic's "connection sharing" recipe), so nothing here starts a second loop. Run any other
way (a bare `alembic` command with `sqlalchemy.url` set), it opens its own async engine.

`target_metadata` (the one MetaData, hub.tables) is only needed to autogenerate a revision;
`yanxing db revision` passes it, the store layer never imports the packages above it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from hub.store.session import create_engine

config = context.config
target_metadata = config.attributes.get("target_metadata")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _main(shared: Any) -> None:
    if shared is not None:
        _run(shared)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("run migrations with `yanxing db upgrade` (or set sqlalchemy.url)")
    asyncio.run(_run_on_url(url))


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    _main(config.attributes.get("connection"))
