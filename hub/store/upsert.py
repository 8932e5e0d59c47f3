"""One portable bulk upsert (INSERT ... ON CONFLICT) for SQLite and PostgreSQL.

Sync writes a page of rows per statement rather than a row per statement: that is what makes a
2,000-member sync take well under a second and a 250,000-member one feasible. Rows are split so
one statement stays under the drivers' bind-parameter limits (asyncpg: 32,767).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

__all__ = ["upsert", "chunked", "MAX_PARAMS"]

#: bind parameters per statement; below asyncpg's 32,767 and SQLite's 32,766
MAX_PARAMS = 30_000

#: builds a column's ON CONFLICT value from (the table, the `excluded` pseudo-row)
SetExpression = Callable[[Table, Any], ColumnElement[Any]]


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for dialect {dialect!r}")  # pragma: no cover


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
    expressions: Mapping[str, SetExpression] | None = None,
) -> None:
    """Insert `rows`, or update the existing row with the same `key` columns.

    `update` names the columns overwritten on conflict (default: every column in the rows
    except the key); an empty `update` means "insert if missing". `expressions` computes a
    column from the old row and the new one (e.g. keep a confirmed link). Every row must have
    the same columns, and no two rows may share a key (PostgreSQL refuses to update a row twice
    in one statement), so callers de-duplicate first.
    """
    if not rows:
        return
    # every mapped model here is declared on one table; the type system only knows FromClause
    table = cast(Table, model.__table__)
    columns = list(rows[0])
    update_columns = [c for c in columns if c not in key] if update is None else list(update)
    per_statement = max(1, MAX_PARAMS // max(1, len(columns)))
    for part in chunked(rows, per_statement):
        stmt = _insert(session, table).values(list(part))
        if not update_columns and not expressions:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
        else:
            values: dict[str, Any] = {c: stmt.excluded[c] for c in update_columns}
            for column, build in (expressions or {}).items():
                values[column] = build(table, stmt.excluded)
            stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=values)
        await session.execute(stmt)
