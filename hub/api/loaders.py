"""Per-request DataLoaders: one SQL query per batch of keys, one source read per batch.

Created lazily on the request's `Context` (and each loader lazily on first use), so a batch
never mixes two callers and a cache never outlives its request (strawberry
`docs/guides/dataloaders.md`). Each batch function returns one slot per key, in order.

A member's index row and its source links come together (`member_index`): one Core SELECT
over members LEFT JOIN source_links per batch, on a pooled connection (no ORM session, no
identity map), with a statement built once per process. `member_rows` and `member_links` are
views of it; a page of members primes it with rows it already read (hub.api.pages). The same
SELECT says whether the ledger holds a report of the member (`IndexEntry.reported`), so the
confirmed-reports overlay (hub.api.reported) reads the ledger only for members that have one
(most have none: one statement per request less).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, Row, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from connectors.base import Record
from hub.api.context import Context
from hub.api.extensions.fields import canonical_member_fields
from hub.api.reported import REPORT_ACTIONS, overlay_confirmed_reports
from hub.errors import LimitExceeded
from hub.exchange.ledger import ExchangeEntryRow
from hub.federation.fetch import Link, LiveFetcher, MergedMember
from hub.federation.ingest import write_issues
from hub.store.direct import compiled, fetch_rows, one_hop_engine, sqlite_of
from hub.store.models import (
    ActivityRow,
    AttendanceRow,
    MemberRow,
    OrganizationRow,
    SourceLinkRow,
)

if TYPE_CHECKING:
    from hub.api.extension_fields import ExtensionLoader
    from hub.api.types.study import StudyLoaders

__all__ = ["Loaders", "IndexEntry", "NOT_INDEXED", "load_all", "member_index_entries",
           "MEMBER_INDEX_COLUMNS", "reported_flag"]

K = TypeVar("K")

log = logging.getLogger("hub.api")

class IndexEntry(NamedTuple):
    """What the index holds of one member: its row and its linked source records."""

    #: the member's index row (a joined Core row, read by column name); None: not indexed
    row: Any
    #: its linked source records, in link order
    links: list[Link]
    #: whether the exchange ledger holds a report (or its confirmation) about the member,
    #: read in the same SELECT; None: not known (read the ledger to find out)
    reported: bool | None = None


#: the entry of a key the index does not hold (read-only: never append to its links)
NOT_INDEXED = IndexEntry(None, [], False)

_MEMBERS = MemberRow.__table__
_LINKS = SourceLinkRow.__table__
_ENTRIES = ExchangeEntryRow.__table__
_KEY = list(_MEMBERS.c.keys()).index("key")


def reported_flag(member_key: Any) -> ColumnElement[bool]:
    """Whether the ledger holds a report or report confirmation about `member_key` (a key
    column of the members table or of a subquery of it): the very rows
    hub.api.reported reads, found through the ledger's member_key index."""
    return exists().where(_ENTRIES.c.member_key == member_key,
                          _ENTRIES.c.action.in_(REPORT_ACTIONS)).label("reported")


#: the columns of a member index row, its `reported` flag, then the link's source and local id
MEMBER_INDEX_COLUMNS = (*_MEMBERS.c, reported_flag(_MEMBERS.c.key), _LINKS.c.source,
                        _LINKS.c.local_id)


def _links_of(members: Any) -> Any:
    """`members` (the table or a subquery of it) LEFT JOIN its member links."""
    return members.outerjoin(
        _LINKS, (_LINKS.c.member_key == members.c.key) & (_LINKS.c.entity == "member")
    )


_MEMBER_INDEX = (
    select(*MEMBER_INDEX_COLUMNS)
    .select_from(_links_of(_MEMBERS))
    .where(_MEMBERS.c.key.in_(bindparam("keys", expanding=True)))
    .order_by(_LINKS.c.id)
)


async def _index_rows(conn: AsyncConnection, keys: Sequence[str]) -> Sequence[Any]:
    """The member index rows of `keys`: on SQLite the same SELECT in one hop through the
    driver (hub.store.direct), else through SQLAlchemy."""
    driver = sqlite_of(conn)
    if driver is None:
        return (await conn.execute(_MEMBER_INDEX, {"keys": list(keys)})).all()
    return await fetch_rows(driver, compiled(_MEMBER_INDEX, conn.dialect), {"keys": list(keys)})


def member_index_entries(rows: Iterable[Row[*tuple[Any, ...]]]) -> dict[str, IndexEntry]:
    """Group joined (member columns..., reported, source, local_id) rows by member key, in row
    order. The row itself stands for the member row (attribute access by column name)."""
    found: dict[str, IndexEntry] = {}
    for row in rows:
        # by position: the last three columns are the flag and the link's; attribute access
        # costs more
        key = row[_KEY]
        entry = found.get(key)
        if entry is None:
            entry = found[key] = IndexEntry(row, [], bool(row[-3]))
        if row[-2] is not None:
            entry.links.append(Link(row[-2], row[-1]))
    return found


V = TypeVar("V")


async def load_all(loader: DataLoader[K, V], keys: Iterable[K]) -> list[V]:
    """`loader.load_many(keys)` without asyncio.gather: values already loaded (a member's
    index entry, read just before by its resolver) come back without an event-loop turn
    (gather's bookkeeping costs two); otherwise each is awaited in turn, the batch being one
    either way. Raises the first failure in key order, every other one retrieved."""
    futures = [loader.load(key) for key in keys]
    try:
        return [await future for future in futures]
    except BaseException:
        for future in futures:
            if isinstance(future, asyncio.Future) and future.done() and not future.cancelled():
                future.exception()  # retrieved: asyncio must not warn about it
        raise


class _PolicedFetcher(LiveFetcher):
    """Asks each source only for the fields the caller may read from that source's owner
    (`Decisions.readable`; a policy that does not narrow reads answers None); a source with
    nothing readable is not asked at all. `LiveFetcher.read_batch` strips whatever a source
    sends beyond the request."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx.runtime.registry)
        self.ctx = ctx

    async def read_batch(
        self, source: str, local_ids: Sequence[str], fields: frozenset[str] | None
    ) -> dict[str, Record | None]:
        readable = self.ctx.decisions.readable(self.registry.owner_of(source))
        if readable is not None:
            fields = readable if fields is None else fields & readable
            if not fields:
                return {local_id: None for local_id in local_ids}
        return await super().read_batch(source, local_ids, fields)


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._members_fetched: set[str] = set()

    # Each loader is made on first use: most requests need two or three of them.
    @cached_property
    def fetcher(self) -> _PolicedFetcher:
        return _PolicedFetcher(self.ctx)

    @cached_property
    def member_index(self) -> DataLoader[str, IndexEntry]:
        return DataLoader(self._member_index)

    @cached_property
    def member_rows(self) -> DataLoader[str, MemberRow | None]:
        return DataLoader(self._member_rows)

    @cached_property
    def member_links(self) -> DataLoader[str, list[Link]]:
        return DataLoader(self._member_links)

    @cached_property
    def member_details(self) -> DataLoader[str, MergedMember]:
        return DataLoader(self._member_details)

    @cached_property
    def organizations(self) -> DataLoader[str, OrganizationRow | None]:
        return DataLoader(self._organizations)

    @cached_property
    def activities(self) -> DataLoader[str, ActivityRow | None]:
        return DataLoader(self._activities)

    @cached_property
    def attendance_by_member(self) -> DataLoader[str, list[AttendanceRow]]:
        return DataLoader(self._attendance_by_member)

    @cached_property
    def extension_values(self) -> ExtensionLoader:
        """A deployment's extension fields of members (hub.api.extension_fields)."""
        from hub.api.extension_fields import ExtensionLoader

        return ExtensionLoader(self.ctx)

    @cached_property
    def study(self) -> StudyLoaders:
        """A member's study records, counts and yearly hours (hub.api.types.study)."""
        from hub.api.types.study import StudyLoaders

        return StudyLoaders(self.ctx)

    @cached_property
    def attendance_by_activity(self) -> DataLoader[str, list[AttendanceRow]]:
        return DataLoader(self._attendance_by_activity)

    def prime_members(self, entries: dict[str, IndexEntry]) -> None:
        """Members whose index row and links were read elsewhere (a page query)."""
        loader = self.member_index
        for key, entry in entries.items():
            loader.prime(key, entry)

    async def _by_pk(self, column: Any, keys: Sequence[str]) -> list[Any]:
        async with self.ctx.runtime.session_factory() as session:
            rows = {getattr(r, column.key): r for r in await session.scalars(
                select(column.class_).where(column.in_(keys))
            )}
        return [rows.get(k) for k in keys]

    async def _grouped(self, column: Any, keys: Sequence[str]) -> list[list[Any]]:
        """Rows per key, at most `limits.max_list_size` + 1 of each (oldest id first): the
        list's resolver shows `max_list_size` of them and says when there were more, so the
        cost model's bound (hub.api.extensions.analysis.LIST_BOUNDS) is the real work."""
        model = column.class_
        cap = self.ctx.runtime.limits.max_list_size + 1
        numbered = (
            select(model.id, func.row_number().over(partition_by=column, order_by=model.id)
                   .label("n"))
            .where(column.in_(keys)).subquery()
        )
        stmt = (select(model).join(numbered, numbered.c.id == model.id)
                .where(numbered.c.n <= cap).order_by(model.id))
        groups: dict[str, list[Any]] = defaultdict(list)
        async with self.ctx.runtime.session_factory() as session:
            for row in await session.scalars(stmt):
                groups[getattr(row, column.key)].append(row)
        return [groups.get(k, []) for k in keys]

    async def _member_index(self, keys: Sequence[str]) -> list[IndexEntry]:
        engine = self.ctx.runtime.engine
        if not one_hop_engine(engine):
            async with engine.connect() as conn:
                rows = await _index_rows(conn, keys)
        else:
            # no `async with`, whose exit closes in a task of its own behind a shield (three
            # event-loop turns): this driver's close returns the connection to the pool
            # without a hop, so nothing can interrupt it
            conn = await engine.connect()
            try:
                rows = await _index_rows(conn, keys)
            finally:
                await conn.close()
        found = member_index_entries(rows)
        return [found.get(k) or IndexEntry(None, [], False) for k in keys]  # a fresh list each

    async def _member_rows(self, keys: Sequence[str]) -> list[MemberRow | None]:
        return [entry.row for entry in await load_all(self.member_index, keys)]

    async def _organizations(self, keys: Sequence[str]) -> list[OrganizationRow | None]:
        return await self._by_pk(OrganizationRow.org_id, keys)

    async def _activities(self, keys: Sequence[str]) -> list[ActivityRow | None]:
        return await self._by_pk(ActivityRow.key, keys)

    async def _attendance_by_member(self, keys: Sequence[str]) -> list[list[AttendanceRow]]:
        return await self._grouped(AttendanceRow.member_key, keys)

    async def _attendance_by_activity(self, keys: Sequence[str]) -> list[list[AttendanceRow]]:
        return await self._grouped(AttendanceRow.activity_key, keys)

    async def _member_links(self, keys: Sequence[str]) -> list[list[Link]]:
        return [entry.links for entry in await load_all(self.member_index, keys)]

    async def _member_details(self, keys: Sequence[str]) -> list[MergedMember | BaseException]:
        limit = self.ctx.runtime.limits.max_members_per_request
        # the tightest `limits.max_members_per_request` of the contracts in play
        limit = min(limit, self.ctx.decisions.max_members_per_request() or limit)
        self._members_fetched.update(keys)
        if len(self._members_fetched) > limit:
            error = LimitExceeded(f"at most {limit} members' details per request")
            return [error for _ in keys]
        entries = await load_all(self.member_index, keys)
        links = [entry.links for entry in entries]
        plan = self.ctx.plan
        fields = canonical_member_fields(plan.requested) if plan is not None else None
        result = await self.fetcher.fetch_members(dict(zip(keys, links)), fields)
        await self._record_issues()
        # confirmed report changes (四个清楚) newer than the sources' values (hub.api.reported),
        # read only for the members the index read found reported (or could not tell)
        reported = {k: result.members[k] for k, e in zip(keys, entries)
                    if e.reported is not False and k in result.members}
        if reported:
            await overlay_confirmed_reports(self.ctx, reported, dict(zip(keys, links)), fields)
        return [result.members[k] for k in keys]

    async def _record_issues(self) -> None:
        """What the sources flagged in their answers becomes data-quality issues, as a sync
        would record them (an item without an id is listed in `dataQualityIssues`, not
        silently missing). A failed write is logged; the answer still goes out."""
        issues = self.fetcher.take_issues()
        if not issues:
            return
        try:
            async with self.ctx.runtime.session_factory() as session:
                await write_issues(session, issues, now=datetime.now(UTC))
                await session.commit()
        except Exception:
            log.exception("could not record %d data-quality issues found in a live read",
                          len(issues))
