"""One portable bulk upsert (INSERT ... ON CONFLICT) for SQLite and PostgreSQL.

Sync writes a page of rows per call rather than a statement per row: one INSERT ... ON CONFLICT
compiled once, its rows sent as executemany parameters (sqlite3 loops over them in C, asyncpg
pipelines them). A multi-row VALUES list was compiled again for every page, bind parameter by
bind parameter: at 250,000 members that compilation was most of the sync's CPU time.

The rows then go to the driver itself (`exec_driver_sql`), their values prepared here the way
the dialect's bind processors would (JSON as `json.dumps` text, datetimes as SQLite's text or
as UTC for asyncpg), one converter per column picked once per statement: SQLAlchemy's
executemany runs every bind processor of every row through its generic parameter machinery,
which was a third of a province sync's writing. A statement whose columns have a type not
handled here (or whose ON CONFLICT carries bound values) takes SQLAlchemy's own path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, cast

from sqlalchemy import JSON, ColumnElement, Date, Integer, String, Table, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from hub.store.base import UtcDateTime

__all__ = ["upsert", "chunked", "EXECUTEMANY_ROWS"]

#: rows per executemany call (bounds the parameter list built at once)
EXECUTEMANY_ROWS = 5_000

#: builds a column's ON CONFLICT value from (the table, the `excluded` pseudo-row)
SetExpression = Callable[[Table, Any], ColumnElement[Any]]
#: one column's value as the driver takes it
Prepare = Callable[[Any], Any]


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def _insert(dialect: Dialect, table: Table) -> Any:
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    if dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for dialect {dialect.name!r}")  # pragma: no cover


# ---- values as the dialects' bind processors make them -------------------------------------

#: json.dumps' own C encoder with its default settings, made once: dumps() checks its
#: arguments and builds an encoder for every call, twice the cost of encoding a link's routing
_ENCODE = (
    None if c_make_encoder is None
    else c_make_encoder(None, None, encode_basestring_ascii, None, ": ", ", ", False, False, True)
)


def _json_text(value: Any) -> str:
    """sqlalchemy.JSON's bind processor with the default serializer, json.dumps (and
    none_as_null=False: None is stored as the JSON text null, as SQLAlchemy stores it)."""
    if value is None:  # a link's optional JSON columns: most rows have none
        return "null"
    if _ENCODE is None:  # pragma: no cover - CPython always has the C encoder
        return json.dumps(value)
    return "".join(_ENCODE(value, 0))


_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # sqlalchemy's sqlite DATETIME


def _sqlite_datetime_column() -> Prepare:
    """`_sqlite_datetime` for one column of one statement, remembering the last value it
    converted: a page's rows share one `fetched_at`/`indexed_at` (the same object), converted
    once. Only a plain UTC or naive datetime is remembered (immutable, and its text depends on
    nothing else)."""
    last: tuple[Any, Any] = (None, None)  # replaced whole: never a value with another's text

    def prepare(value: Any) -> Any:
        nonlocal last
        remembered = last
        if value is remembered[0] and value is not None:
            return remembered[1]
        text = _sqlite_datetime(value)
        if type(value) is datetime and (value.tzinfo is None or value.tzinfo is UTC):
            last = (value, text)
        return text

    return prepare


def _sqlite_datetime(value: Any) -> Any:
    """UtcDateTime (aware -> UTC) then SQLite's DATETIME text, as SQLAlchemy writes it."""
    if value is None:
        return None
    if type(value) is not datetime:
        if isinstance(value, datetime):
            pass
        elif isinstance(value, date):
            return _SQLITE_DATETIME % (value.year, value.month, value.day, 0, 0, 0, 0)
        else:
            raise TypeError("SQLite DateTime type only accepts Python datetime and date objects "
                            "as input.")
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return _SQLITE_DATETIME % (value.year, value.month, value.day, value.hour, value.minute,
                               value.second, value.microsecond)


def _sqlite_date(value: Any) -> Any:
    """SQLite's DATE text, as SQLAlchemy writes it."""
    if value is None:
        return None
    if not isinstance(value, date):
        raise TypeError("SQLite Date type only accepts Python date objects as input.")
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _utc_datetime(value: Any) -> Any:
    """UtcDateTime's bind step (asyncpg takes the datetime itself)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _preparer(column_type: Any, dialect: str) -> Prepare | None:
    """The converter of one column's values, None for the identity, or raise LookupError when
    the type is not one this module reproduces (the statement then takes SQLAlchemy's path)."""
    if isinstance(column_type, JSON):
        if column_type.none_as_null:
            raise LookupError("JSON with none_as_null")
        return _json_text
    if isinstance(column_type, UtcDateTime):
        return _sqlite_datetime_column() if dialect == "sqlite" else _utc_datetime
    if isinstance(column_type, Date):
        return _sqlite_date if dialect == "sqlite" else None
    if type(column_type) in (String, Text, Integer):
        return None
    raise LookupError(type(column_type).__name__)


class _Plan:
    """One upsert statement as the driver's SQL text and the function turning a row (a
    mapping) into its positional parameters, both made once per statement."""

    __slots__ = ("sql", "row")

    def __init__(self, sql: str, columns: tuple[str, ...], preparers: tuple[Prepare | None, ...]):
        self.sql = sql
        self.row = _row_builder(columns, preparers)

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        return list(map(self.row, rows))


def _row_builder(
    columns: tuple[str, ...], preparers: tuple[Prepare | None, ...]
) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """`lambda row: (row["a"], p1(row["b"]), ...)` for the statement's bound positions: one
    call a row instead of a loop over columns (the loop cost more than the conversions). The
    names come from the table's own columns (`repr` quotes them), nothing from the rows."""
    scope: dict[str, Any] = {}
    items = []
    for index, (column, prepare) in enumerate(zip(columns, preparers, strict=True)):
        if prepare is None:
            items.append(f"row[{column!r}]")
        else:
            scope[f"p{index}"] = prepare
            items.append(f"p{index}(row[{column!r}])")
    return cast(Callable[[Mapping[str, Any]], tuple[Any, ...]],
                eval(f"lambda row: ({', '.join(items)},)", scope))


#: compiled plans by (dialect, table, columns, key, update, expressions); None: SQLAlchemy's way
_PLANS: dict[tuple[Any, ...], _Plan | None] = {}


def _plan(dialect: Dialect, table: Table, stmt: Any, columns: list[str]) -> _Plan | None:
    if dialect.name not in ("sqlite", "postgresql"):
        return None
    try:
        compiled = stmt.compile(dialect=dialect, column_keys=columns)
        names = compiled.positiontup
        if not names or compiled.binds.keys() - set(columns) or len(set(names)) != len(names):
            return None  # bound values of its own, or one column bound twice
        preparers = tuple(_preparer(table.c[name].type, dialect.name) for name in names)
    except (LookupError, AttributeError):
        return None
    return _Plan(compiled.string, tuple(names), preparers)


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
    expressions: Mapping[str, SetExpression] | None = None,
    driver: bool = True,
) -> None:
    """Insert `rows`, or update the existing row with the same `key` columns.

    `update` names the columns overwritten on conflict (default: every column in the rows
    except the key); an empty `update` means "insert if missing". `expressions` computes a
    column from the old row and the new one (e.g. keep a confirmed link). Every row must have
    the same columns, and no two rows may share a key (PostgreSQL refuses to update a row twice
    in one statement), so callers de-duplicate first. `driver=False` sends the rows through
    SQLAlchemy's parameter processing instead of the driver directly (the two store the same
    values: tests/store/test_upsert.py compares them).
    """
    if not rows:
        return
    # every mapped model here is declared on one table; the type system only knows FromClause
    table = cast(Table, model.__table__)
    columns = list(rows[0])
    update_columns = [c for c in columns if c not in key] if update is None else list(update)
    dialect = session.get_bind().dialect
    cache_key = (dialect.name, table.name, tuple(columns), tuple(key), tuple(update_columns),
                 tuple((c, id(b)) for c, b in (expressions or {}).items()))
    plan = _PLANS.get(cache_key) if driver else None
    stmt: Any = None
    if plan is None:
        stmt = _insert(dialect, table)
        if not update_columns and not expressions:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
        else:
            values: dict[str, Any] = {c: stmt.excluded[c] for c in update_columns}
            for column, build in (expressions or {}).items():
                values[column] = build(table, stmt.excluded)
            stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=values)
        if driver and cache_key not in _PLANS:
            plan = _PLANS[cache_key] = _plan(dialect, table, stmt, columns)
    if plan is not None:
        connection = await session.connection()
        for part in chunked(rows, EXECUTEMANY_ROWS):
            await connection.exec_driver_sql(plan.sql, plan.parameters(part))
        return
    # one statement without VALUES, the rows as executemany parameters: compiled once (and
    # cached), where a VALUES list of a page of rows was compiled anew for every page
    for part in chunked(rows, EXECUTEMANY_ROWS):
        await session.execute(stmt, list(part))
