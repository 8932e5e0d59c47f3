"""SQLite through aiosqlite in one thread hop per statement, not four.

aiosqlite runs each sqlite3 call in its own thread; SQLAlchemy's adapter makes a statement four
calls there (open a cursor, execute, fetch all rows, close the cursor), each a round trip from
the event loop to that thread and back (a future, a queue put, a wake-up of the loop). A
one-member GraphQL request ran 16 of them. This adapter runs the four as one function in the
thread, and skips the pool's ROLLBACK on a connection with no transaction open (a read never
opens one: sqlite3 begins one only before a write, and its own rollback does nothing then):
what SQLAlchemy sees of a statement (rows, description, rowcount, lastrowid, errors) is what
sqlite3 gave, only fetched at once.

Used by `hub.store.session.create_engine` for every `sqlite+aiosqlite` URL (the DBAPI module
SQLAlchemy is handed: `create_async_engine(..., module=...)`). Server-side cursors (streamed
results) keep SQLAlchemy's own cursor.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

__all__ = ["is_one_hop_dbapi", "one_hop_connection", "one_hop_dbapi"]

#: what one statement leaves behind: rows (None: it returned none), description, rowcount,
#: lastrowid
_Outcome = tuple[list[Any] | None, Any, int, int | None]


def _run(connection: sqlite3.Connection, many: bool, operation: Any, parameters: Any
         ) -> _Outcome:
    """In aiosqlite's thread: the whole statement, its rows fetched, the cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        # after the fetch: a RETURNING statement's rowcount counts the rows fetched
        return rows, description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement runs in one call to the connection's thread: no sqlite3
    cursor is held between calls, so closing it costs nothing."""

    __slots__ = ("_description", "_rowcount", "_lastrowid")

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    async def _async_soft_close(self) -> None:
        return None  # nothing is held in the thread: the rows are already here

    def close(self) -> None:
        self._rows.clear()

    def _run(self, many: bool, operation: Any, parameters: Any) -> Any:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            rows, self._description, self._rowcount, self._lastrowid = await_(
                connection._execute(  # type: ignore[no-untyped-call]
                    _run, connection._conn, many, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = collections.deque(rows) if rows is not None else collections.deque()
        return None

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        return self._run(False, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        return self._run(True, operation, seq_of_parameters)


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = _OneHopCursor

    def rollback(self) -> None:
        connection = self._connection._connection
        # no transaction open (every read): sqlite3's rollback would do nothing, in a hop
        if connection is not None and not connection.in_transaction:
            return
        super().rollback()


class _OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _OneHopConnection:
        creator = kw.pop("async_creator_fn", None)
        connection = creator(*arg, **kw) if creator else aiosqlite.connect(*arg, **kw)
        if not creator:
            connection._thread.daemon = True  # as SQLAlchemy's own adapter does
        return _OneHopConnection(self, await_(connection))


def one_hop_dbapi() -> Any:
    """The DBAPI module to hand `create_async_engine` for a `sqlite+aiosqlite` URL."""
    return _OneHopDBAPI(aiosqlite, sqlite3)


def one_hop_connection(dbapi_connection: Any) -> aiosqlite.Connection | None:
    """The aiosqlite connection of a DBAPI connection this module made (None: another
    driver's), for statements run in its thread directly (hub.store.direct)."""
    if isinstance(dbapi_connection, _OneHopConnection):
        return dbapi_connection._connection  # type: ignore[return-value]
    return None


def is_one_hop_dbapi(dbapi: Any) -> bool:
    """Whether an engine's DBAPI module is this one (`one_hop_dbapi`)."""
    return isinstance(dbapi, _OneHopDBAPI)
