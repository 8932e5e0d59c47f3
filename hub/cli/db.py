"""`yanxing db upgrade | current | revision`: migrate the hub's database (hub.store.migrate).

`upgrade` and `current` take the database from `--config yanxing.toml` (default) or `--db URL`;
`current` exits 0 at head and 1 otherwise, so a deploy script can test it.
`yanxing serve` refuses a database behind the code's head, so after installing a new release
an operator runs `yanxing db upgrade` once, deliberately, before starting the hub again.
`revision` is for developers: it autogenerates a migration script from the difference between
the models (hub.tables) and a database at head (a scratch SQLite one unless `--db` is given).

A malformed URL or an unreachable database is one line on stderr and exit 2 (DatabaseError,
printed by hub.cli.main), never a traceback; the URL is shown without its password.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.errors import DatabaseError

__all__ = ["register", "database_url", "with_database", "check_schema"]

T = TypeVar("T")

_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "db", help="migrate the hub's database (upgrade, current)",
        description="Bring the hub's database to the schema of this release (upgrade), or "
        "show the revision it is at (current).",
    )
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for name, help_text, handler in (
        ("upgrade", "apply every migration up to this release's head", _upgrade),
        ("current", "print the database's revision; exit 1 unless it is at head", _current),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_target(p)
        p.set_defaults(handler=handler)
    p = sub.add_parser(
        "revision", help="(developers) autogenerate a migration from the models",
        description="Write hub/store/migrations/versions/<NNNN>_<slug>.py with the operations "
        "that take a database at head to the models' schema. Review it before committing.")
    p.add_argument("-m", "--message", required=True, help="what the migration changes")
    p.add_argument("--db", default=None,
                   help="a database to compare against (default: a scratch SQLite at head)")
    p.set_defaults(handler=_revision)


def _add_target(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--config", type=Path, default=None,
                        help="hub configuration whose hub.database_url to use "
                        "(default: yanxing.toml)")
    target.add_argument("--db", default=None, help="database URL (instead of --config)")


def database_url(args: argparse.Namespace) -> str:
    """The URL named by `--db`, or the one in `--config` (default yanxing.toml)."""
    if args.db is not None:
        _check_url(args.db)
        return str(args.db)
    from hub.settings import load_settings

    return load_settings(args.config or Path("yanxing.toml")).hub.database_url


def _check_url(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            "--db is not a database URL (e.g. sqlite+aiosqlite:///yanxing.db or "
            "postgresql+asyncpg://user@host/db)") from None
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise DatabaseError(f"--db: unsupported database {backend!r} (use sqlite or postgresql)")
    if parsed.get_driver_name() != _DRIVERS[backend]:
        raise DatabaseError(f"--db: use the async driver: {backend}+{_DRIVERS[backend]}://...")


def _display(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def with_database(url: str, action: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `action` on an engine for `url`; connection failures become DatabaseError."""
    from hub.store.session import create_engine

    async def run() -> T:
        engine = create_engine(url)
        try:
            return await action(engine)
        except (SQLAlchemyError, OSError) as exc:
            # asyncpg raises OSError subclasses (refused, unknown host) before SQLAlchemy sees
            # a connection; show the kind and first line, never the traceback or a password
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise DatabaseError(
                f"cannot use the database at {_display(url)}: {type(exc).__name__}"
                + (f": {detail[0]}" if detail else "")) from None
        finally:
            await engine.dispose()

    return asyncio.run(run())


def check_schema(url: str) -> str:
    """The database's revision if it is at head; SchemaOutOfDate (exit 2) otherwise."""
    from hub.store.migrate import require_head

    return with_database(url, require_head)


def _upgrade(args: argparse.Namespace) -> int:
    from hub.store.migrate import current_revision, head_revision, upgrade

    url = database_url(args)

    async def run(engine: AsyncEngine) -> tuple[str | None, str | None]:
        before = await current_revision(engine)
        await upgrade(engine)
        return before, await current_revision(engine)

    before, after = with_database(url, run)
    if before == after:
        print(f"{_display(url)}: already at head {head_revision()}")
    else:
        print(f"{_display(url)}: upgraded {before or '(empty)'} -> {after}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from hub.store.migrate import current_revision, head_revision

    url = database_url(args)
    current = with_database(url, current_revision)
    head = head_revision()
    if current == head:
        print(f"{_display(url)}: {current} (at head)")
        return 0
    print(f"{_display(url)}: {current or 'no hub schema'}, not at head {head}: run "
          "`yanxing db upgrade`")
    return 1


def _revision(args: argparse.Namespace) -> int:
    from alembic import command

    from hub.store.migrate import alembic_config, next_revision_id, upgrade
    from hub.tables import METADATA

    def generate(connection: Any) -> None:
        config = alembic_config(target_metadata=METADATA, connection=connection)
        script = command.revision(config, message=args.message, autogenerate=True,
                                  rev_id=next_revision_id())
        for written in script if isinstance(script, list) else [script]:
            if written is not None:
                print(f"wrote {written.path}: review it, then commit it")

    async def run(engine: AsyncEngine) -> None:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.run_sync(generate)

    with tempfile.TemporaryDirectory() as scratch:
        if args.db is not None:
            _check_url(args.db)
        url = args.db or f"sqlite+aiosqlite:///{Path(scratch) / 'head.db'}"
        with_database(url, run)
    return 0
