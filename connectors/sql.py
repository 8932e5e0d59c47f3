"""County databases (流动党员信息库): any SQLAlchemy async URL, one table or view per entity.

Columns are reflected from the database, never spliced into SQL text: every statement is
built with SQLAlchemy Core on the reflected `Table` and every value is a bound parameter.
Pages are keyset-ordered by the local id column (`WHERE id > :last ORDER BY id LIMIT n`), so a
page costs the same at row 10 and row 1,000,000 and inserts during a sync do not shift pages.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from connectors._mapped import MappedConnector
from connectors._records import MISSING
from connectors._writes import row_of
from connectors.base import (
    DataIssue,
    Location,
    ReadRequest,
    ReadResult,
    Record,
    WriteRequest,
    WriteResult,
)
from connectors.errors import (
    ConnectorConfigError,
    NotSupported,
    SourceInvalid,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from connectors.mapping import EntityMapping, SourceMapping, WriteMapping
from connectors.secret import reveal

__all__ = ["SqlConnector"]

T = TypeVar("T")

_KEY_CHUNK = 500


def _id_of(row: Any) -> str | None:
    """A one-column key as text; None for a composite or absent one."""
    values = tuple(row) if row is not None else ()
    return str(values[0]) if len(values) == 1 and values[0] is not None else None


class SqlConnector(MappedConnector):
    """Reads entities from tables or views; writes ledger entries with an INSERT into the
    tables its mapping's `[write.<action>]` names (WRITE is declared only then)."""

    kind: ClassVar[str] = "sql"
    source_noun: ClassVar[str] = "database"

    def __init__(self, mapping: SourceMapping) -> None:
        changes = any(self._changed_column(e) for e in mapping.entities.values())
        super().__init__(mapping, by_keys=True, changes=changes)
        self._timeout = float(mapping.connection.get("timeout_seconds", 10.0))
        self._engine: AsyncEngine | None = None
        self._tables: dict[str, sa.Table] = {}
        self._missing: dict[str, list[DataIssue]] = {}

    @staticmethod
    def _changed_column(entity: EntityMapping) -> str | None:
        if entity.changed_since and entity.changed_since.column:
            return entity.changed_since.column
        updated = entity.fields.get("updated_at")
        return updated.column if updated else None

    def _url(self) -> sa.URL:
        """The engine URL; a relative SQLite path is relative to the mapping file's folder."""
        url = make_url(reveal(self.mapping.connection["url"]))
        database = url.database
        if url.get_backend_name() == "sqlite" and database and database != ":memory:":
            path = self.mapping.base_dir / database
            if not database.startswith("/") and not database.startswith("file:"):
                url = url.set(database=str(path))
            if not database.startswith("file:") and not Path(str(url.database)).is_file():
                # SQLite would create an empty file and fail later with "no such table"
                raise ConnectorConfigError(
                    f"{self.name}: the SQLite database {url.database} does not exist; check "
                    "[connection] url (relative paths: to the mapping file, or to yanxing.toml "
                    "when set in its [sources.connection])")
        return url

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(self._url())
        return self._engine

    async def _run(
        self, fn: Callable[[AsyncConnection], Awaitable[T]], *, transaction: bool = False
    ) -> T:
        """Run `fn(connection)` with the source's timeout, mapping driver errors at the boundary.
        `transaction`: in one transaction, committed when `fn` returns."""
        try:
            async with asyncio.timeout(self._timeout):
                opened = self.engine.begin() if transaction else self.engine.connect()
                async with opened as connection:
                    return await fn(connection)
        except TimeoutError:
            raise SourceTimeout(self.name, f"no answer within {self._timeout:g}s") from None
        except sa_exc.NoSuchTableError as exc:
            raise SourceInvalid(self.name, f"no table or view {exc.args[0]!r}") from None
        except sa_exc.IntegrityError as exc:
            detail = f"the database refused the row: {type(exc.orig).__name__}"
            raise SourceRejected(self.name, detail, public_detail=detail) from None
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise SourceUnavailable(
                self.name, f"database unavailable: {type(exc.orig).__name__}"
            ) from None
        except sa_exc.DBAPIError as exc:
            raise SourceInvalid(self.name, f"database error: {type(exc.orig).__name__}") from None
        except OSError as exc:
            raise SourceUnavailable(self.name, f"cannot connect: {exc.strerror or exc}") from None

    async def _table(self, entity: EntityMapping) -> sa.Table:
        if entity.name in self._tables:
            return self._tables[entity.name]
        schema = self.mapping.connection.get("schema")

        name = entity.path
        if name is None:  # parse_mapping already refuses an sql entity without a table name
            raise SourceInvalid(self.name, f"entity {entity.name} names no table or view")

        def load(sync: sa.Connection) -> sa.Table:
            return sa.Table(name, sa.MetaData(), autoload_with=sync, schema=schema)

        async def reflect(connection: AsyncConnection) -> sa.Table:
            return await connection.run_sync(load)

        table: sa.Table = await self._run(reflect)
        if entity.local_id not in table.c:
            raise SourceInvalid(
                self.name, f"table {entity.path} has no id column {entity.local_id!r}"
            )
        builder = self._builders[entity.name]
        self._missing[entity.name] = [
            builder.issue(
                "MISSING_COLUMN", f"column {spec.column} ({spec.field}) is not in {entity.path}",
                Location(f"table {entity.path}"), column=spec.column,
            )
            for spec in entity.fields.values() if spec.column not in table.c
        ]
        self._tables[entity.name] = table
        return table

    def _columns(
        self, entity: EntityMapping, table: sa.Table, fields: frozenset[str] | None
    ) -> list[sa.Column[Any]]:
        names = {entity.local_id} | {
            s.column for s in self._builders[entity.name].selected(fields) if s.column in table.c
        }
        return [table.c[n] for n in sorted(names)]

    def _records(
        self, entity: EntityMapping, rows: Sequence[sa.Row[Any]], fields: frozenset[str] | None,
        issues: list[DataIssue],
    ) -> list[Record | None]:
        def located(row: sa.Row[Any]) -> tuple[Callable[[str], Any], Location]:
            data = row._mapping
            where = Location(f"table {entity.path} {entity.local_id}={data[entity.local_id]}")
            return (lambda c: data[c] if c in data else MISSING), where

        return self._builders[entity.name].build_rows(map(located, rows), fields, issues)

    @staticmethod
    def _key_value(column: sa.Column[Any], key: str) -> Any:
        """A key as the id column's Python type; None when it cannot be one (no such record)."""
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            return key
        if python_type is int:
            try:
                return int(key)
            except ValueError:
                return None
        return key

    async def _read_keys(
        self, entity: EntityMapping, table: sa.Table, request: ReadRequest
    ) -> ReadResult:
        assert request.keys is not None
        id_col = table.c[entity.local_id]
        columns = self._columns(entity, table, request.fields)
        wanted = {k: self._key_value(id_col, k) for k in dict.fromkeys(request.keys)}
        values = [v for v in wanted.values() if v is not None]
        rows: list[sa.Row[Any]] = []

        async def fetch(connection: AsyncConnection) -> None:
            for i in range(0, len(values), _KEY_CHUNK):
                chunk = values[i : i + _KEY_CHUNK]
                result = await connection.execute(sa.select(*columns).where(id_col.in_(chunk)))
                rows.extend(result.all())

        if values:
            await self._run(fetch)
        issues: list[DataIssue] = []
        found = {r.local_id: r for r in self._records(entity, rows, request.fields, issues) if r}
        return ReadResult([found.get(k) for k in request.keys], None, issues)

    def _since_value(self, column: sa.Column[Any], entity: EntityMapping, since: datetime) -> Any:
        since = (since if since.tzinfo else since.replace(tzinfo=UTC)).astimezone(
            self.mapping.timezone
        )
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            python_type = str
        if python_type is datetime:
            timezone_aware = getattr(column.type, "timezone", False)
            return since if timezone_aware else since.replace(tzinfo=None)
        fmt = entity.changed_since.format if entity.changed_since else None
        return since.strftime(fmt) if fmt else since.replace(tzinfo=None).isoformat(sep=" ")

    async def read(self, request: ReadRequest) -> ReadResult:
        entity = self._entity(request.entity)
        table = await self._table(entity)
        if request.keys is not None:
            return await self._read_keys(entity, table, request)
        id_col = table.c[entity.local_id]
        statement = sa.select(*self._columns(entity, table, request.fields)).order_by(id_col)
        if request.cursor:
            try:
                last = json.loads(request.cursor)
            except ValueError:
                raise SourceInvalid(self.name, f"bad cursor {request.cursor!r}") from None
            statement = statement.where(id_col > last)
        if request.since is not None:
            changed = self._changed_column(entity)
            if changed is None or changed not in table.c:
                raise NotSupported(self.name, f"{entity.name} has no changed-since column")
            statement = statement.where(
                table.c[changed] > self._since_value(table.c[changed], entity, request.since)
            )
        size = max(request.page_size, 1)
        statement = statement.limit(size + 1)

        async def fetch(connection: AsyncConnection) -> list[sa.Row[Any]]:
            return list((await connection.execute(statement)).all())

        rows = await self._run(fetch)
        more = len(rows) > size
        rows = rows[:size]
        issues: list[DataIssue] = list(self._missing[entity.name]) if not request.cursor else []
        records = self._records(entity, rows, request.fields, issues)
        next_cursor = json.dumps(rows[-1]._mapping[entity.local_id], default=str) if more else None
        return ReadResult([r for r in records if r is not None], next_cursor, issues)

    # ---- write-back ----------------------------------------------------------------------

    async def _write_table(self, spec: WriteMapping) -> sa.Table:
        key = f"write:{spec.action}"
        if key in self._tables:
            return self._tables[key]
        schema = self.mapping.connection.get("schema")
        name = spec.table or ""

        async def reflect(connection: AsyncConnection) -> sa.Table:
            return await connection.run_sync(
                lambda sync: sa.Table(name, sa.MetaData(), autoload_with=sync, schema=schema))

        table: sa.Table = await self._run(reflect)
        wanted = [spec.key_column or "", *(f.column for f in spec.fields)]
        missing = [c for c in wanted if c not in table.c]
        if missing:
            detail = f"table {name} has no column {', '.join(missing)} ([write.{spec.action}])"
            raise SourceInvalid(self.name, detail, public_detail=detail)
        self._tables[key] = table
        return table

    async def write(self, request: WriteRequest) -> WriteResult:
        """INSERT one row into `[write.<action>]`'s table, its `key_column` holding the
        idempotency key: a key already there is a retry the database took before (nothing is
        inserted twice, also when two writers race: the unique key refuses the second and the
        row found then is the answer)."""
        spec = self._write_spec(request.action)
        table = await self._write_table(spec)
        key_col = table.c[spec.key_column or ""]
        row = {**row_of(spec, request, self.mapping.timezone),
               key_col.name: request.idempotency_key}
        pk = list(table.primary_key.columns)

        async def existing(connection: AsyncConnection) -> Any:
            found = await connection.execute(
                sa.select(*(pk or [key_col])).where(key_col == request.idempotency_key))
            return found.first()

        async def insert(connection: AsyncConnection) -> WriteResult:
            if (before := await existing(connection)) is not None:
                return WriteResult(request.action, _id_of(before), duplicate=True)
            result = await connection.execute(table.insert().values(**row))
            inserted = result.inserted_primary_key
            return WriteResult(request.action, _id_of(inserted) if inserted else None)

        try:
            return await self._run(insert, transaction=True)
        except SourceRejected:
            # a concurrent writer inserted the key between our SELECT and INSERT
            before = await self._run(existing)
            if before is None:
                raise
            return WriteResult(request.action, _id_of(before), duplicate=True)

    async def aclose(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()
