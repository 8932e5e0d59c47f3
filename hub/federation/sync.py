"""Index one source, or all of them: page through every entity and upsert it into the store.

Pages are written in transactions of several pages (up to `_COMMIT_ROWS` records or
`_COMMIT_SECONDS` open), each committed together with the cursor after its last page in
`sync_state`, so a crash loses at most the pages of the open transaction and the next run
resumes after the last committed page, re-reading exactly those. The next page is read while
one is written.
Re-running changes nothing but timestamps (every write is an upsert keyed by source and local
id). A source failing (`SourceError`) is recorded in `sync_state` and reported in its summary;
`sync_all` then carries on with the next source.

Changed-since: with `full=False`, a source declaring READ_CHANGES that has completed a sync
before is asked only for records updated after its watermark (newest `updated_at` seen).
Only a completed *full* sync resolves data issues it no longer sees and drops records that
left the source, since a changed-since run cannot know what disappeared.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base import (
    Capability,
    Connector,
    DataIssue,
    Location,
    ReadRequest,
    ReadResult,
    Record,
)
from connectors.errors import SourceError
from hub.clock import as_utc
from hub.federation.breaker import CircuitBreaker, RetryBudget, guarded_read
from hub.federation.ingest import (
    PageOutcome,
    write_activities,
    write_attendance,
    write_issues,
    write_members,
    write_organizations,
    write_study_records,
)
from hub.federation.member_rows import recompute_members
from hub.federation.sources import auxiliary_fields
from hub.model import Side
from hub.store.models import (
    ActivityRow,
    AttendanceRow,
    DataIssueRow,
    MemberRow,
    OrganizationRow,
    SourceLinkRow,
    StudyRecordRow,
    SyncStateRow,
)

__all__ = ["SyncProgress", "SyncSummary", "SyncTarget", "sync_source", "sync_all", "ENTITY_ORDER"]

log = logging.getLogger("yanxing.sync")

#: organisations first (members and activities refer to them), attendance after activities
ENTITY_ORDER = ("organization", "member", "activity", "attendance", "study_record")


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """Reported after each committed page."""

    source: str
    entity: str
    pages: int
    records: int


@dataclass(slots=True)
class SyncSummary:
    """What one source's sync did. `status` is "ok" or "failed" (then `error`/`error_code`)."""

    source: str
    status: str = "ok"
    records: int = 0
    linked: int = 0
    unlinked: int = 0
    issues: int = 0
    pages: int = 0
    seconds: float = 0.0
    mode: str = "full"
    entities: dict[str, int] = field(default_factory=dict)
    #: per entity, (what the source's own `total` said, what the sync received) when they differ
    shortfalls: dict[str, tuple[int, int]] = field(default_factory=dict)
    error: str | None = None
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class SyncTarget:
    """A connector and its side of the co-management agreement; with a `breaker` (and a
    retry `budget`) its page reads go through them (hub.federation.breaker.guarded_read)."""

    connector: Connector
    side: Side
    breaker: CircuitBreaker | None = None
    budget: RetryBudget | None = None


Progress = Callable[[SyncProgress], None]
Factory = async_sessionmaker[AsyncSession]


def _now() -> datetime:
    return datetime.now(UTC)


async def _begin_run(
    factory: Factory, source: str, entity: str, *, want_changed: bool
) -> SyncStateRow:
    """Load or create the entity's state and decide: resume, changed-since, or full."""
    async with factory() as session, session.begin():
        state = await session.get(SyncStateRow, (source, entity))
        if state is None:
            state = SyncStateRow(source=source, entity=entity, status="never", records_seen=0,
                                 issues_seen=0)
            session.add(state)
        mode = "changed" if want_changed and state.watermark is not None else "full"
        resuming = state.cursor is not None and state.mode == mode
        if not resuming:
            state.cursor = None
            state.mode = mode
            state.since = state.watermark if mode == "changed" else None
            state.started_at = _now()
            state.pending_watermark = None
            state.records_seen = 0
            state.issues_seen = 0
        state.status = "running"
        state.finished_at = None
        state.last_error = None
        state.last_error_code = None
    return state


async def _write_page(
    session: AsyncSession, entity: str, records: list[Record], *, side: Side, secret: bytes,
    now: datetime, auxiliary: frozenset[str] = frozenset(),
) -> PageOutcome:
    if entity == "member":
        return await write_members(session, records, side=side, secret=secret, now=now,
                                   auxiliary=auxiliary)
    if entity == "study_record":
        return await write_study_records(session, records, secret=secret, now=now)
    if entity == "organization":
        return await write_organizations(session, records, now=now)
    if entity == "activity":
        return await write_activities(session, records, now=now)
    return await write_attendance(session, records, secret=secret, now=now)


#: the index tables each entity's page writes and looks up (their statistics are refreshed)
_TABLES = {
    "member": (SourceLinkRow, MemberRow),
    "organization": (OrganizationRow,),
    "activity": (ActivityRow,),
    "attendance": (AttendanceRow,),
}
#: rows synced before the first refresh; then each time the rows synced double
_ANALYZE_FIRST = 1000
#: a transaction holds pages until it has this many records or has been open this long. One
#: transaction per 500-row page made SQLite write, for each page, a WAL frame of every index
#: page it dirtied (keys are random hashes: hundreds of pages per index) and checkpoint them
#: again and again (50,000 members: 912 MB written for an 83 MB index). The time bound keeps
#: other writers (the API's audit entries) from waiting on a sync's write lock for long.
_COMMIT_ROWS = 5000
_COMMIT_SECONDS = 1.0


async def _refresh_statistics(factory: Factory, entity: str) -> None:
    """PostgreSQL plans each page's lookups (links by local id, by member key) from table
    statistics, which a fresh index lacks while a first sync fills it (autovacuum analyses a
    minute later, too late). Without them it expects one row per source, reads the local ids
    as a filter rather than an index condition and so scans every row of the source already
    written, for each page: the sync slows quadratically (20,000 members: 10 s of 24 in that
    one query). SQLite picks the index without statistics."""
    async with factory() as session, session.begin():
        if session.get_bind().dialect.name != "postgresql":
            return
        names = ", ".join(model.__tablename__ for model in _TABLES[entity])
        await session.execute(text(f"ANALYZE {names}"))


def _total_mismatch(source: str, entity: str, expected: int, received: int) -> DataIssue:
    """The source said it holds `expected` records but paging to its end gave `received`:
    records were lost (or the count is wrong) and an operator must know, not find out later."""
    return DataIssue(
        source, entity, "SOURCE_TOTAL_MISMATCH",
        f"the system reported {expected} {entity} records (its total) but paging to its end "
        f"gave {received}: check its paging settings (pagination.size, the page cap of the "
        "system) and ask its operator whether the total is right",
        Location(f"sync {entity}"),
    )


async def _finish_full(session: AsyncSession, source: str, entity: str, started: datetime) -> None:
    """After a completed full sync: resolve issues not seen again, drop records that left."""
    now = _now()
    await session.execute(
        update(DataIssueRow)
        .where(DataIssueRow.source == source, DataIssueRow.entity == entity)
        .where(DataIssueRow.resolved_at.is_(None), DataIssueRow.last_seen < started)
        .values(resolved_at=now)
    )
    if entity == "member":
        gone = select(SourceLinkRow.member_key).where(
            SourceLinkRow.source == source, SourceLinkRow.entity == "member",
            SourceLinkRow.fetched_at < started, SourceLinkRow.member_key.is_not(None),
        )
        keys = [k for (k,) in (await session.execute(gone)).all() if k is not None]
        await session.execute(
            delete(SourceLinkRow).where(
                SourceLinkRow.source == source, SourceLinkRow.entity == "member",
                SourceLinkRow.fetched_at < started,
            )
        )
        await recompute_members(session, keys, now=now)
    elif entity == "activity":
        await session.execute(
            delete(ActivityRow).where(
                ActivityRow.source == source, ActivityRow.fetched_at < started
            )
        )
    elif entity == "attendance":
        await session.execute(
            delete(AttendanceRow).where(
                AttendanceRow.source == source, AttendanceRow.fetched_at < started
            )
        )
    elif entity == "study_record":
        await session.execute(
            delete(StudyRecordRow).where(
                StudyRecordRow.source == source, StudyRecordRow.fetched_at < started
            )
        )


async def _sync_entity(
    factory: Factory, connector: Connector, entity: str, summary: SyncSummary, *, side: Side,
    secret: bytes, want_changed: bool, page_size: int, progress: Progress | None,
    breaker: CircuitBreaker | None = None, budget: RetryBudget | None = None,
) -> None:
    source = connector.name
    state = await _begin_run(factory, source, entity, want_changed=want_changed)
    summary.mode = state.mode or "full"
    since = as_utc(state.since)
    started = as_utc(state.started_at) or _now()
    pages = 0
    #: the source's own count (latest page that gave one); rows without a usable id count as
    #: received, they are reported on their own (MISSING_KEY)
    expected: int | None = None
    # a resumed run's earlier pages count as what they wrote (all that was kept of them)
    received = state.records_seen or 0
    analyze_at = _ANALYZE_FIRST
    #: the member fields this source only fills in (its mapping's authority)
    auxiliary = auxiliary_fields(connector)

    def read(at: str | None) -> Awaitable[ReadResult]:
        request = ReadRequest(entity=entity, cursor=at, page_size=page_size, since=since)
        if breaker is None:
            return connector.read(request)
        return guarded_read(source, functools.partial(connector.read, request), breaker, budget)

    # pages are read by a task of their own, up to `page_size` records ahead of the pages being
    # written: while a transaction waits on the database (SQLite's thread, PostgreSQL's
    # server), the next pages are fetched and converted. A cursor is stored only with its
    # page's commit, so a failure still resumes after the last committed page.
    pages_read: asyncio.Queue[ReadResult | Exception] = asyncio.Queue()
    room = asyncio.Event()
    ahead = 0  # records read and not yet taken by the writer

    async def reader() -> None:
        nonlocal ahead
        cursor = state.cursor
        while True:
            while ahead >= page_size:
                room.clear()
                await room.wait()
            try:
                page = await read(cursor)
            except Exception as exc:  # handed to the writer, which records or raises it
                pages_read.put_nowait(exc)
                return
            ahead += len(page.records)
            pages_read.put_nowait(page)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    reading = asyncio.ensure_future(reader())
    #: pages read but not yet written: a source capping its pages below `page_size` (20 of
    #: 500) is written `page_size` records per write, not a write per 20 records
    batch: list[ReadResult] = []
    #: the open transaction: its session, when it began, its pages and records, and what it
    #: adds to the summary once committed (nothing of it counts before)
    session: AsyncSession | None = None
    opened = 0.0
    tx_pages = tx_records = tx_linked = tx_unlinked = tx_issues = 0

    async def commit() -> None:
        """Commit the open transaction (its pages' rows and the cursor of its last page), then
        count it in the summary and report it."""
        nonlocal session, pages, analyze_at, tx_pages, tx_records, tx_linked, tx_unlinked
        nonlocal tx_issues
        if session is None:
            return
        try:
            await session.commit()
        finally:
            await session.close()
            session = None
        pages += tx_pages
        written = summary.entities.get(entity, 0) + tx_records
        summary.pages += tx_pages
        summary.records += tx_records
        summary.linked += tx_linked
        summary.unlinked += tx_unlinked
        summary.issues += tx_issues
        summary.entities[entity] = written
        tx_pages = tx_records = tx_linked = tx_unlinked = tx_issues = 0
        if written >= analyze_at:
            await _refresh_statistics(factory, entity)
            analyze_at = 2 * written
        if progress is not None:
            progress(SyncProgress(source, entity, pages, written))

    try:
        while True:
            got = await pages_read.get()
            if isinstance(got, SourceError):
                await commit()  # the pages written before the failure are kept
                async with factory() as failed, failed.begin():
                    await failed.execute(
                        update(SyncStateRow)
                        .where(SyncStateRow.source == source, SyncStateRow.entity == entity)
                        .values(status="failed", last_error=str(got)[:2000],
                                last_error_code=got.code, finished_at=_now())
                    )
                raise got
            if isinstance(got, Exception):
                await commit()
                raise got
            result = got
            ahead -= len(result.records)
            room.set()
            batch.append(result)
            if result.next_cursor is not None and sum(len(r.records) for r in batch) < page_size:
                continue  # the source caps its pages below page_size: write them together
            results, batch = batch, []
            records = [r for res in results for r in res.records if r is not None]
            page_issues = [i for res in results for i in res.issues]
            for res in results:
                if res.total is not None:
                    expected = res.total
            received += len(records) + sum(1 for i in page_issues if i.code == "MISSING_KEY")
            now = _now()
            if session is None:
                session = factory()
                await session.begin()
                opened = time.monotonic()
            outcome = await _write_page(session, entity, records, side=side, secret=secret,
                                        now=now, auxiliary=auxiliary)
            issues = [*page_issues, *outcome.issues]
            current = await session.get(SyncStateRow, (source, entity))
            assert current is not None
            if result.next_cursor is None and expected is not None:
                if received != expected:
                    issues.append(_total_mismatch(source, entity, expected, received))
                    summary.shortfalls[entity] = (expected, received)
                    log.warning("sync of %s %s: the system reported %d records, got %d",
                                source, entity, expected, received)
            await write_issues(session, issues, now=now)
            pending = as_utc(current.pending_watermark)
            if outcome.newest is not None and (pending is None or outcome.newest > pending):
                current.pending_watermark = outcome.newest
            # the cursor after the last page whose rows this transaction holds: committed with
            # them, so a crash re-reads only the pages of the transaction it lost
            current.cursor = result.next_cursor
            current.records_seen += outcome.records
            current.issues_seen += len(issues)
            if result.next_cursor is None:
                if current.mode == "full":
                    await _finish_full(session, source, entity, started)
                watermark = as_utc(current.watermark)
                newest = as_utc(current.pending_watermark)
                if newest is not None and (watermark is None or newest > watermark):
                    current.watermark = newest
                current.pending_watermark = None
                current.status = "ok"
                current.finished_at = _now()
            tx_pages += len(results)
            tx_records += outcome.records
            tx_linked += outcome.linked if entity == "member" else 0
            tx_unlinked += outcome.unlinked if entity == "member" else 0
            tx_issues += len(issues)
            if (result.next_cursor is None or tx_records >= _COMMIT_ROWS
                    or time.monotonic() - opened >= _COMMIT_SECONDS):
                await commit()
            if result.next_cursor is None:
                return
    finally:
        if session is not None:  # a write failed: its transaction is rolled back
            await session.close()
        if not reading.done():
            reading.cancel()  # the pages read ahead are dropped


async def sync_source(
    session_factory: Factory,
    connector: Connector,
    *,
    side: Side,
    secret: bytes,
    full: bool = True,
    page_size: int = 500,
    progress: Progress | None = None,
    breaker: CircuitBreaker | None = None,
    budget: RetryBudget | None = None,
) -> SyncSummary:
    """Sync every entity `connector` describes (page reads through `breaker`, if given). A
    `SourceError` does not propagate: it ends this source's sync, is recorded in
    `sync_state`, and is reported as a failed summary. Any other exception (a bug, the index
    database down) propagates after being recorded."""
    summary = SyncSummary(source=connector.name)
    clock = time.perf_counter()
    entity = "-"
    try:
        schema = await connector.describe()
        want_changed = not full and Capability.READ_CHANGES in schema.capabilities
        for entity in [e for e in ENTITY_ORDER if e in schema.entities]:
            await _sync_entity(
                session_factory, connector, entity, summary, side=side, secret=secret,
                want_changed=want_changed, page_size=page_size, progress=progress,
                breaker=breaker, budget=budget,
            )
    except SourceError as exc:
        summary.status, summary.error, summary.error_code = "failed", str(exc), exc.code
        log.warning("sync of %s failed at %s: %s [%s]", connector.name, entity, exc, exc.code)
    except Exception as exc:
        summary.status, summary.error = "failed", f"{type(exc).__name__}: {exc}"
        summary.error_code = getattr(exc, "code", "INTERNAL_ERROR")
        await _record_crash(session_factory, connector.name, entity, summary)
        raise
    finally:
        summary.seconds = time.perf_counter() - clock
    return summary


async def _record_crash(factory: Factory, source: str, entity: str, summary: SyncSummary) -> None:
    try:
        async with factory() as session, session.begin():
            await session.execute(
                update(SyncStateRow)
                .where(SyncStateRow.source == source, SyncStateRow.entity == entity)
                .values(status="failed", last_error=(summary.error or "")[:2000],
                        last_error_code=summary.error_code, finished_at=_now())
            )
    except Exception:  # the store itself may be what failed; the original error matters more
        log.exception("could not record the failed sync of %s", source)


async def sync_all(
    session_factory: Factory,
    targets: Sequence[SyncTarget],
    *,
    secret: bytes,
    full: bool = True,
    page_size: int = 500,
    progress: Progress | None = None,
) -> list[SyncSummary]:
    """Sync sources one after another (SQLite has one writer); a failing source never stops
    the others. Returns one summary per target, in order."""
    summaries: list[SyncSummary] = []
    for target in targets:
        try:
            summary = await sync_source(
                session_factory, target.connector, side=target.side, secret=secret, full=full,
                page_size=page_size, progress=progress, breaker=target.breaker,
                budget=target.budget,
            )
        except Exception as exc:
            log.exception("sync of %s crashed", target.connector.name)
            summary = SyncSummary(
                source=target.connector.name, status="failed", error=f"{type(exc).__name__}: {exc}",
                error_code=getattr(exc, "code", "INTERNAL_ERROR"),
            )
        summaries.append(summary)
    return summaries
