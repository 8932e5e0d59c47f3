"""Migrate the hub's database with Alembic: upgrade to head, read the revision, check it.

The migration scripts (hub.store.migrations) are the only thing that creates or alters the
hub's tables; `create_all` never alters an existing table, so it cannot carry a deployed hub
from one release to the next. Everything here runs inside the caller's event loop on its
`AsyncEngine` (env.py uses the shared connection), so the app lifespan, the CLI and tests call
it alike. `yanxing serve` only checks (`require_head`): migrating a production database is an
operator's deliberate step (`yanxing db upgrade`); the demo, `sync` and tests upgrade.
"""

from __future__ import annotations

import functools
import importlib.resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.errors import SchemaOutOfDate

__all__ = [
    "alembic_config",
    "current_revision",
    "head_revision",
    "next_revision_id",
    "require_head",
    "upgrade",
    "UPGRADE_HINT",
]

#: what to tell someone whose database is behind the code
UPGRADE_HINT = "run `yanxing db upgrade --config yanxing.toml` (or `--db URL`) first"


def _script_location() -> str:
    # A regular (non-zip) install, wheel or editable, has the package on disk: Alembic needs
    # a directory path, which `files()` of an on-disk package is.
    return str(importlib.resources.files("hub.store.migrations"))


def alembic_config(*, target_metadata: MetaData | None = None, **attributes: Any) -> Config:
    """An Alembic config for the packaged migrations (no alembic.ini needed).

    `target_metadata`: the one MetaData of every table (hub.tables), for autogenerate."""
    config = Config()
    config.set_main_option("script_location", _script_location())
    config.attributes["target_metadata"] = target_metadata
    config.attributes.update(attributes)
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The revision the code's models are at (there is one head: no branches)."""
    head = _scripts().get_current_head()
    assert head is not None, "hub.store.migrations has no revision"
    return head


def next_revision_id() -> str:
    """Revisions are numbered 0001, 0002, ... so the versions folder reads in order."""
    return f"{sum(1 for _ in _scripts().walk_revisions()) + 1:04d}"


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None for a database never migrated (e.g. empty)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply every migration up to `revision`, in one transaction (idempotent at head)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


def _upgrade(connection: Connection, revision: str) -> None:
    if revision == "head" and _current(connection) == head_revision():
        return  # the common case (every start, every test): skip loading env.py
    command.upgrade(alembic_config(connection=connection), revision)


async def require_head(engine: AsyncEngine) -> str:
    """The database's revision if it is the code's head; else SchemaOutOfDate saying what
    to do. Reads one row, changes nothing."""
    current = await current_revision(engine)
    head = head_revision()
    if current == head:
        return current
    if current is None:
        raise SchemaOutOfDate(f"the database has no hub schema yet (code needs revision "
                              f"{head}): {UPGRADE_HINT}")
    try:
        known = _scripts().get_revision(current) is not None
    except Exception:  # alembic raises its own errors for unknown ids
        known = False
    if not known:
        raise SchemaOutOfDate(
            f"the database is at revision {current}, which this version of yanxing does not "
            f"know (migrated by a newer release?): run the release that migrated it")
    raise SchemaOutOfDate(f"the database is at revision {current}, behind the code's head "
                          f"{head}: {UPGRADE_HINT}")
