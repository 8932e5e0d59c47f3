"""The request path's hot statements run through the SQLite driver itself, compiled once.

A Core statement executed through SQLAlchemy pays its per-statement machinery every time: a
greenlet switch into the sync layer, the compiled-cache lookup, the execution context, the
parameter processing, the cursor result (~135 Python calls, ~0.2-0.4 ms of a one-member
request per statement). The three statements every authenticated request runs (the
contract-state version read, the member index read, the audit entry's INSERTs) are compiled
here once per dialect by SQLAlchemy itself (the same SQL text it would send), and on the
one-hop SQLite driver (hub.store.sqlite_driver) run as one call in the connection's thread:
the parameters in the compiled order, the rows through the same result processors SQLAlchemy
would apply (dates, UTC datetimes, booleans) into SQLAlchemy `Row`s, driver errors raised as
the SQLAlchemy errors the callers already handle (`DBAPIError.instance`).

Any other connection (PostgreSQL, or an SQLite engine made with another DBAPI module) gets
None from `sqlite_of`, and the caller runs the statement through SQLAlchemy as before: these
are shortcuts for one driver, never a second meaning of a statement. A statement whose
parameters would need bind processing is refused at compile time (`ValueError`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from hub.store.sqlite_driver import is_one_hop_dbapi, one_hop_connection

__all__ = ["DirectStatement", "compiled", "fetch_rows", "one_hop_engine", "run_in_sqlite",
           "sqlite_of"]

T = TypeVar("T")


def one_hop_engine(engine: AsyncEngine) -> bool:
    """Whether `engine` runs on the one-hop SQLite driver (hub.store.sqlite_driver)."""
    return is_one_hop_dbapi(engine.dialect.loaded_dbapi)


def sqlite_of(conn: AsyncConnection) -> aiosqlite.Connection | None:
    """The aiosqlite connection under `conn` when it is the one-hop SQLite driver's, usable
    now (checked out, not invalidated) and without connection event listeners; None
    otherwise: run through SQLAlchemy."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    if sync._has_events or sync.engine._has_events:
        return None  # connection event listeners (instrumentation, tests) see every statement
    # through SQLAlchemy
    return one_hop_connection(sync.connection.dbapi_connection)


class DirectStatement:
    """A Core statement compiled once per dialect, for the driver.

    `args(values)` are the positional parameters in the compiled order (defaults of the
    statement's own literals included; an expanding IN list spliced in where SQLAlchemy
    expands it); `sql(values)` the text for that many values of each expanding list; `rows`
    turns driver rows into SQLAlchemy `Row`s as the statement's result processors make them."""

    def __init__(self, statement: ClauseElement, dialect: Dialect,
                 column_keys: Sequence[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys or ()) or None)
        assert isinstance(compiled, SQLCompiler)
        if compiled._bind_processors:
            raise ValueError("a statement whose parameters need bind processing is not run "
                             "through the driver directly")
        self._compiled = compiled
        self._names = tuple(compiled.positiontup or ())
        self._expanding = frozenset(
            name for bind, name in compiled.bind_names.items() if bind.expanding)
        self._defaults = {name: value for name, value in compiled.construct_params(
            _check=False).items() if value is not None or name not in self._expanding}
        #: the SQL for each count of values of the expanding lists (sorted by name)
        self._shapes: dict[tuple[int, ...], str] = {}
        self._plain = str(compiled) if not self._expanding else None
        columns = compiled._result_columns
        self._meta = SimpleResultMetaData(
            [c.keyname for c in columns],
            _processors=[c.type._cached_result_processor(dialect, None) for c in columns],
        ) if columns else None

    def args(self, values: Mapping[str, Any] | None = None) -> tuple[Any, ...]:
        params = {**self._defaults, **values} if values else self._defaults
        out: list[Any] = []
        for name in self._names:
            value = params[name]
            if name in self._expanding:
                out.extend(value)
            else:
                out.append(value)
        return tuple(out)

    def sql(self, values: Mapping[str, Any] | None = None) -> str:
        if self._plain is not None:
            return self._plain
        params = {**self._defaults, **(values or {})}
        shape = tuple(len(params[name]) for name in sorted(self._expanding))
        made = self._shapes.get(shape)
        if made is None:
            expanded = self._compiled._process_parameters_for_postcompile(
                self._compiled.construct_params(params))
            # SQLAlchemy expands each list in place: the same order `args` builds
            expected = tuple(expanded.parameters[n] for n in expanded.positiontup or ())
            if expected != self.args(values):
                raise AssertionError("expanded parameters out of the compiled order")
            made = self._shapes[shape] = expanded.statement
        return made

    def rows(self, raw: list[Any]) -> list[Any]:
        assert self._meta is not None, "a statement without result columns"
        return list(IteratorResult(self._meta, iter(raw)).all())

    def translate(self, error: sqlite3.Error, args: Any) -> StatementError:
        """The SQLAlchemy error SQLAlchemy would raise for `error` (IntegrityError, ...),
        without the parameters in its text."""
        return DBAPIError.instance(str(self._compiled), args, error, sqlite3.Error,
                                   hide_parameters=True)


#: (statement, dialect name, paramstyle, column keys) -> its DirectStatement
_COMPILED: dict[tuple[ClauseElement, str, str, tuple[str, ...]], DirectStatement] = {}


def compiled(statement: ClauseElement, dialect: Dialect,
             column_keys: Sequence[str] = ()) -> DirectStatement:
    """`statement` (a module-level constant) compiled for `dialect` once per process: the
    hot statements are the same few objects for every request and every engine."""
    shape = (statement, dialect.name, str(dialect.paramstyle), tuple(column_keys))
    made = _COMPILED.get(shape)
    if made is None:
        made = _COMPILED[shape] = DirectStatement(statement, dialect, column_keys)
    return made

def _fetch(connection: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[Any]:
    """In aiosqlite's thread: all rows of one statement."""
    cursor = connection.execute(sql, args)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


async def run_in_sqlite(connection: aiosqlite.Connection,
                        work: Callable[..., T], *args: Any) -> T:
    """`work(sqlite3_connection, *args)` in the connection's thread: one hop for all of it."""
    return await connection._execute(work, connection._conn, *args)  # type: ignore[no-any-return,no-untyped-call]


async def fetch_rows(connection: aiosqlite.Connection, statement: DirectStatement,
                     values: Mapping[str, Any] | None = None) -> list[Any]:
    """Every row of `statement` with `values`, in one hop, as SQLAlchemy would give them."""
    args = statement.args(values)
    try:
        raw = await run_in_sqlite(connection, _fetch, statement.sql(values), args)
    except sqlite3.Error as error:
        raise statement.translate(error, args) from error
    return statement.rows(raw)
