"""Sync from real in-memory connectors into a real index (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base import DataIssue, Location, ReadRequest, ReadResult
from connectors.errors import SourceError, SourceUnavailable
from connectors.mock import MockConnector
from hub.federation import sync as sync_module
from hub.federation.identity import member_key
from hub.federation.sync import SyncProgress, SyncTarget, sync_all, sync_source
from hub.model import Side
from hub.store.models import (
    ActivityRow,
    AttendanceRow,
    DataIssueRow,
    MemberRow,
    OrganizationRow,
    SourceLinkRow,
    SyncStateRow,
)

pytestmark = pytest.mark.store

Factory = async_sessionmaker[AsyncSession]
T0 = datetime(2024, 1, 1, tzinfo=UTC)
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(seq: int, region: str = "510521") -> str:
    """A distinct valid GB 11643 ID number per `seq` (check digit computed)."""
    body = f"{region}{1990 - seq // 1000}0101{seq % 1000:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _W)) % 11]


def origin_member(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "local_id": f"o{i:05d}", "id_number": id_number(i), "name": f"成员{i}",
        "birth_date": "1990-01-01", "status": "in_contact", "origin_org_id": "ORG-LX-01",
        "origin_region_code": "510521", "destination_region_code": "440300",
        "phone": f"138{i:08d}", "updated_at": T0 + timedelta(minutes=i), **extra,
    }


def dest_member(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "local_id": f"d{i:05d}", "id_number": id_number(i).lower() + " ", "name": f"成员{i}",
        "status": "lost_contact", "destination_region_code": "510115",
        "destination_org_id": "ORG-WJ-03", "origin_region_code": "999999",
        "updated_at": T0 + timedelta(days=30), **extra,
    }


async def count(factory: Factory, model: type, *where: Any) -> int:
    async with factory() as session:
        return int(
            (
                await session.execute(select(func.count()).select_from(model).where(*where))
            ).scalar_one()
        )


async def test_links_two_sources_by_id_and_merges_routing_by_authority(
    session_factory: Factory, secret: bytes
) -> None:
    origin = MockConnector("luxian", {"member": [origin_member(i) for i in range(3)]})
    dest = MockConnector("wenjiang", {"member": [dest_member(i) for i in range(2)]})
    sums = await sync_all(
        session_factory,
        [SyncTarget(origin, Side.ORIGIN), SyncTarget(dest, Side.DESTINATION)],
        secret=secret,
    )
    assert [s.ok for s in sums] == [True, True]
    assert (sums[0].linked, sums[1].linked, sums[1].unlinked) == (3, 2, 0)
    assert await count(session_factory, MemberRow) == 3
    async with session_factory() as session:
        m0 = await session.get(MemberRow, member_key(secret, id_number(0)))
        links = (await session.execute(select(SourceLinkRow).where(
            SourceLinkRow.member_key == member_key(secret, id_number(0))))).scalars().all()
    assert m0 is not None and {link.source for link in links} == {"luxian", "wenjiang"}
    # origin wins membership facts even though the destination record is newer...
    assert (m0.status, m0.origin_region_code) == ("in_contact", "510521")
    # ...and destination wins residence and organisation life
    assert (m0.destination_region_code, m0.destination_org_id) == ("510115", "ORG-WJ-03")
    assert m0.birth_date is not None and m0.birth_date.isoformat() == "1990-01-01"
    # the hub never stores the raw ID number, nor the phone
    for link in links:
        blob = repr((link.routing, link.fields, link.match_phone_hash))
        assert id_number(0) not in blob and "13800000000" not in blob


async def test_unlinked_record_is_kept_with_match_values(
    session_factory: Factory, secret: bytes
) -> None:
    source = MockConnector("village", {"member": [
        {"local_id": "v1", "id_number": None, "name": "王五", "birth_date": "1985-03",
         "phone": "139 0000 1111"},
        {"local_id": "v2", "id_number": "510521199001011230", "name": "赵六"},  # bad check digit
    ]})
    summary = await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret)
    assert (summary.linked, summary.unlinked) == (0, 2)
    assert await count(session_factory, MemberRow) == 0
    async with session_factory() as session:
        v1 = (
            await session.execute(select(SourceLinkRow).where(SourceLinkRow.local_id == "v1"))
        ).scalar_one()
    assert v1.member_key is None and v1.match_name == "王五"
    assert v1.match_birth_date is not None and v1.match_birth_date.isoformat() == "1985-03-01"
    assert v1.match_phone_hash and len(v1.match_phone_hash) == 64


async def test_bad_rows_become_data_issues_and_the_sync_goes_on(
    session_factory: Factory, secret: bytes
) -> None:
    issue = DataIssue("county", "member", "INVALID_DATE", "出生日期 not a date",
                      Location("members.csv", 7), column="出生日期", local_id="c9")

    class WithIssues(MockConnector):
        async def read(self, request: ReadRequest) -> ReadResult:
            result = await super().read(request)
            if request.entity == "member" and request.cursor is None:
                result.issues.append(issue)
            return result

    rows = [origin_member(1), origin_member(2, birth_date=12345), origin_member(3, status=7)]
    source = WithIssues("county", {"member": rows})
    summary = await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret)
    assert summary.ok and summary.records == 1 and summary.issues == 3
    async with session_factory() as session:
        issues = (
            (await session.execute(select(DataIssueRow).order_by(DataIssueRow.code)))
            .scalars()
            .all()
        )
    assert [(i.code, i.local_id) for i in issues] == [
        ("INVALID_DATE", "c9"), ("INVALID_VALUE", "o00002"), ("INVALID_VALUE", "o00003")]
    assert all(i.resolved_at is None for i in issues)


async def test_second_run_changes_nothing_but_timestamps(
    session_factory: Factory, secret: bytes
) -> None:
    source = MockConnector(
        "luxian",
        {
            "member": [origin_member(i) for i in range(5)] + [{"local_id": "x", "name": "无证"}],
            "organization": [
                {"local_id": "ORG-LX-01", "name": "泸县某村党支部", "kind": "origin_branch"}
            ],
            "activity": [
                {
                    "local_id": "a1",
                    "org_id": "ORG-LX-01",
                    "kind": "themed_party_day",
                    "title": "主题党日",
                    "start_time": T0,
                    "expected": 10,
                    "present": 8,
                }
            ],
            "attendance": [
                {
                    "local_id": "at1",
                    "activity_id": "a1",
                    "member_id_number": id_number(1),
                    "mode": "present",
                }
            ],
        },
    )

    async def snapshot() -> list[Any]:
        async with session_factory() as session:
            out: list[Any] = []
            for model, skip in [(MemberRow, {"indexed_at"}), (SourceLinkRow, {"fetched_at"}),
                                (OrganizationRow, {"sources"}), (ActivityRow, {"fetched_at"}),
                                (AttendanceRow, {"fetched_at"})]:
                rows = (await session.execute(select(model))).scalars().all()
                out.append(
                    sorted(
                        repr(
                            {
                                c: getattr(r, c)
                                for c in model.__table__.columns.keys()
                                if c not in skip
                            }
                        )
                        for r in rows
                    )
                )
            return out

    first = await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret)
    before = await snapshot()
    second = await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret)
    assert await snapshot() == before
    assert (
        (first.records, first.linked, first.unlinked)
        == (second.records, second.linked, second.unlinked)
        == (9, 5, 1)
    )
    async with session_factory() as session:
        att = (await session.execute(select(AttendanceRow))).scalar_one()
    assert att.member_key == member_key(secret, id_number(1)) and att.activity_key == "luxian:a1"


class FailOnPage:
    """`fail` hook: SourceUnavailable on the member page whose cursor is `cursor`."""

    def __init__(self, cursor: str) -> None:
        self.cursor = cursor

    def __call__(self, request: ReadRequest) -> SourceError | None:
        if request.entity == "member" and request.cursor == self.cursor:
            return SourceUnavailable("luxian", "connection reset")
        return None


async def test_resumes_from_the_stored_cursor_after_a_crash(
    session_factory: Factory, secret: bytes
) -> None:
    source = MockConnector("luxian", {"member": [origin_member(i) for i in range(50)]},
                           fail=FailOnPage("20"))  # page 3 with 10 per page
    # pages 1 and 2 share a transaction still open when page 3 fails: it is committed first
    failed = await sync_source(
        session_factory, source, side=Side.ORIGIN, secret=secret, page_size=10
    )
    assert not failed.ok and failed.error_code == "SOURCE_UNAVAILABLE" and failed.pages == 2
    async with session_factory() as session:
        state = await session.get(SyncStateRow, ("luxian", "member"))
    assert state is not None and (state.status, state.cursor) == ("failed", "20")
    assert "connection reset" in (state.last_error or "")
    assert await count(session_factory, MemberRow) == 20  # two committed pages kept

    source.fail = None
    source.calls.clear()
    done = await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret, page_size=10)
    assert done.ok and source.calls[0].cursor == "20" and done.pages == 3
    async with session_factory() as session:
        state = await session.get(SyncStateRow, ("luxian", "member"))
    assert state is not None and (state.status, state.cursor, state.records_seen) == (
        "ok",
        None,
        50,
    )
    assert await count(session_factory, MemberRow) == 50


class StallOnPage(MockConnector):
    """A source whose member page at `cursor` never comes: the sync waits there until it is
    killed (its task cancelled), with pages written after its last commit."""

    def __init__(self, *args: Any, cursor: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stall_at: str | None = cursor
        self.stalled = asyncio.Event()

    async def read(self, request: ReadRequest) -> ReadResult:
        if request.entity == "member" and request.cursor == self.stall_at:
            self.stalled.set()
            await asyncio.Event().wait()  # forever
        return await super().read(request)


async def test_a_sync_killed_mid_transaction_resumes_with_every_row_once(
    session_factory: Factory, secret: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several pages share a transaction: a kill loses the uncommitted ones and the stored
    cursor is that of the last committed page, so the next run re-reads exactly those."""
    monkeypatch.setattr(sync_module, "_COMMIT_ROWS", 30)  # three pages of 10
    monkeypatch.setattr(sync_module, "_COMMIT_SECONDS", 3600.0)
    source = StallOnPage("luxian", {"member": [origin_member(i) for i in range(100)]},
                         cursor="50")
    running = asyncio.ensure_future(sync_source(
        session_factory, source, side=Side.ORIGIN, secret=secret, page_size=10))
    await source.stalled.wait()  # pages "30" and "40" are read: written, not committed
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    async with session_factory() as session:
        state = await session.get(SyncStateRow, ("luxian", "member"))
    assert state is not None and (state.cursor, state.records_seen) == ("30", 30)
    assert await count(session_factory, SourceLinkRow) == 30  # pages "30", "40" rolled back
    assert await count(session_factory, MemberRow) == 30

    source.stall_at = None
    source.calls.clear()
    done = await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret,
                             page_size=10)
    assert done.ok and source.calls[0].cursor == "30" and done.pages == 7
    async with session_factory() as session:
        state = await session.get(SyncStateRow, ("luxian", "member"))
        local_ids = (await session.execute(
            select(SourceLinkRow.local_id).where(SourceLinkRow.source == "luxian"))).scalars()
        kept = list(local_ids)
    assert state is not None and (state.status, state.cursor, state.records_seen) == (
        "ok", None, 100)
    assert sorted(kept) == [f"o{i:05d}" for i in range(100)]  # every row, each once
    assert await count(session_factory, MemberRow) == 100


async def test_a_transaction_of_several_pages_commits_their_last_cursor(
    session_factory: Factory, secret: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress (and the summary) count only committed pages: one report per transaction."""
    monkeypatch.setattr(sync_module, "_COMMIT_ROWS", 25)
    monkeypatch.setattr(sync_module, "_COMMIT_SECONDS", 3600.0)
    source = MockConnector("luxian", {"member": [origin_member(i) for i in range(60)]})
    seen: list[SyncProgress] = []
    done = await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret,
                             page_size=10, progress=seen.append)
    assert done.ok and (done.pages, done.records) == (6, 60)
    assert seen == [SyncProgress("luxian", "member", 3, 30),
                    SyncProgress("luxian", "member", 6, 60)]
    assert await count(session_factory, SourceLinkRow) == 60


async def test_changed_since_asks_only_for_newer_records(
    session_factory: Factory, secret: bytes
) -> None:
    rows = [origin_member(i) for i in range(10)]
    source = MockConnector("luxian", {"member": rows})
    await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret)
    source._rows["member"]["o00003"]["status"] = "returned"
    source._rows["member"]["o00003"]["updated_at"] = T0 + timedelta(days=2)
    source.calls.clear()
    summary = await sync_source(
        session_factory, source, side=Side.ORIGIN, secret=secret, full=False
    )
    assert summary.mode == "changed" and summary.records == 1
    assert source.calls[0].since == T0 + timedelta(minutes=9)
    async with session_factory() as session:
        m = await session.get(MemberRow, member_key(secret, id_number(3)))
        state = await session.get(SyncStateRow, ("luxian", "member"))
    assert m is not None and m.status == "returned"
    assert state is not None and state.watermark is not None
    assert state.watermark.replace(tzinfo=UTC) == T0 + timedelta(days=2)


async def test_changed_without_watermark_runs_full(session_factory: Factory, secret: bytes) -> None:
    source = MockConnector("luxian", {"member": [origin_member(1)]})
    summary = await sync_source(
        session_factory, source, side=Side.ORIGIN, secret=secret, full=False
    )
    assert summary.mode == "full" and source.calls[0].since is None


async def test_full_sync_resolves_fixed_issues_and_drops_departed_records(
    session_factory: Factory, secret: bytes
) -> None:
    bad = {"local_id": "b1", "name": "坏", "birth_date": 3}
    source = MockConnector("luxian", {"member": [origin_member(1), origin_member(2), bad]})
    await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret)
    del source._rows["member"]["b1"], source._rows["member"]["o00002"]
    await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret)
    async with session_factory() as session:
        issue = (await session.execute(select(DataIssueRow))).scalar_one()
    assert issue.resolved_at is not None
    assert await count(session_factory, MemberRow) == 1
    assert await count(session_factory, SourceLinkRow) == 1


async def test_a_failing_source_is_recorded_and_others_continue(
    session_factory: Factory, secret: bytes
) -> None:
    def down(request: ReadRequest) -> SourceError:
        return SourceUnavailable("zheli", "503 Service Unavailable")

    broken = MockConnector("zheli", {"member": [dest_member(1)]}, fail=down)
    good = MockConnector("luxian", {"member": [origin_member(1)]})
    seen: list[SyncProgress] = []
    sums = await sync_all(
        session_factory, [SyncTarget(broken, Side.DESTINATION), SyncTarget(good, Side.ORIGIN)],
        secret=secret, progress=seen.append,
    )
    assert [(s.source, s.status, s.error_code) for s in sums] == [
        ("zheli", "failed", "SOURCE_UNAVAILABLE"), ("luxian", "ok", None)]
    assert seen == [SyncProgress("luxian", "member", 1, 1)]
    async with session_factory() as session:
        state = await session.get(SyncStateRow, ("zheli", "member"))
    assert (
        state is not None
        and state.status == "failed"
        and state.last_error_code == "SOURCE_UNAVAILABLE"
    )


async def test_organizations_from_two_sources_merge_with_provenance(
    session_factory: Factory, secret: bytes
) -> None:
    a = MockConnector(
        "a",
        {
            "organization": [
                {"local_id": "ORG1", "name": "旧名", "kind": "origin_branch", "updated_at": T0}
            ]
        },
    )
    b = MockConnector(
        "b",
        {
            "organization": [
                {
                    "local_id": "ORG1",
                    "name": "新名",
                    "secretary": "李书记",
                    "updated_at": T0 + timedelta(days=1),
                }
            ]
        },
    )
    await sync_all(
        session_factory,
        [SyncTarget(a, Side.ORIGIN), SyncTarget(b, Side.DESTINATION)],
        secret=secret,
    )
    async with session_factory() as session:
        org = await session.get(OrganizationRow, "ORG1")
    assert org is not None and (org.name, org.kind, org.secretary) == (
        "新名",
        "origin_branch",
        "李书记",
    )
    assert [p["system"] for p in org.sources] == ["a", "b"]


def many(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield origin_member(i, origin_region_code="510521")


async def test_two_thousand_members_sync_in_pages(session_factory: Factory, secret: bytes) -> None:
    # how fast is a benchmark's question (bench/), never a timed test's: a loaded machine
    # would fail it for nothing
    source = MockConnector("luxian", {"member": list(many(2000))})
    summary = await sync_source(session_factory, source, side=Side.ORIGIN, secret=secret)
    assert summary.records == 2000 and summary.pages == 4
    assert await count(session_factory, MemberRow) == 2000
