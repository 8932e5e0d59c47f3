"""Nothing lost, ever (issue 10): platforms that page and batch differently than asked, served
by a real aiohttp app on 127.0.0.1.

- `/capped`: pages cut to 20 rows whatever `size` says, `total: 50`; by-id batches answered for
  at most 10 ids. With the mapping's `size = 200` and `max = 20` the connector used to stop
  after 20 members and drop 10 ids of every batch, silently; the kit passed (it paged by 2).
- `/lying`: pages cut to 20, `total: 60` over 50 rows: the sync reports SOURCE_TOTAL_MISMATCH.
- `/offset-capped`: offset/limit cut to 20 rows and no total: only an empty page ends it.
- `/strict`: refuses list and by-id requests without their fixed params and headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base import DataIssue, ReadRequest, ReadResult, Record
from connectors.errors import ConnectorConfigError, NotSupported
from connectors.mapping import EntityMapping, parse_mapping
from connectors.rest import RestConnector
from connectors.testing import CaseConfig, connector_test_class, make_id_number, read_all
from connectors.testing._cases import (
    PagingAtTheHubsPageSize,
    ReadByKeysFullBatch,
    RestMemberReadsById,
)
from hub.federation.sync import sync_source
from hub.model import Side
from hub.store.models import DataIssueRow

PAGE_CAP, ID_CAP, HELD, LIE = 20, 10, 50, 60
MEMBERS = [
    {"id": f"z{i:02d}", "xm": f"成员{i}", "xb": "1" if i % 2 else "2",
     "sfzh": make_id_number("330106", "19900101", i), "sj": f"1390000{i:04d}",
     "gxsj": f"2024-06-{1 + i % 28:02d}T08:00:00+08:00"}
    for i in range(1, HELD + 1)
]


LOG = web.AppKey("log", list)


def _log(request: web.Request) -> None:
    request.app[LOG].append((request.path, dict(request.query), dict(request.headers)))


def _by_ids(request: web.Request, cap: int | None) -> web.Response:
    wanted = request.query["ids"].split(",")[:cap]
    return web.json_response(
        {"total": len(wanted), "rows": [m for m in MEMBERS if m["id"] in wanted]}
    )


async def capped(request: web.Request) -> web.Response:
    _log(request)
    if "ids" in request.query:
        return _by_ids(request, ID_CAP)
    page, size = int(request.query["page"]), min(int(request.query["size"]), PAGE_CAP)
    return web.json_response({"total": HELD, "rows": MEMBERS[(page - 1) * size : page * size]})


async def lying(request: web.Request) -> web.Response:
    _log(request)
    page, size = int(request.query["page"]), min(int(request.query["size"]), PAGE_CAP)
    return web.json_response({"total": LIE, "rows": MEMBERS[(page - 1) * size : page * size]})


async def offset_capped(request: web.Request) -> web.Response:
    _log(request)
    if "ids" in request.query:
        return _by_ids(request, ID_CAP)
    offset, limit = int(request.query["offset"]), min(int(request.query["limit"]), PAGE_CAP)
    return web.json_response({"rows": MEMBERS[offset : offset + limit]})


async def strict(request: web.Request) -> web.Response:
    _log(request)
    if "ids" in request.query:
        if request.query.get("view") != "full" or request.headers.get("X-Batch") != "yes":
            return web.json_response(
                {"error": "by-id requests need view=full and X-Batch"}, status=400
            )
        if "channel" in request.query:
            return web.json_response({"error": "channel is for lists"}, status=400)
        return _by_ids(request, None)
    if request.query.get("channel") != "hub" or request.headers.get("X-Tenant") != "zj":
        return web.json_response({"error": "lists need channel=hub and X-Tenant"}, status=400)
    page, size = int(request.query["page"]), int(request.query["size"])
    return web.json_response({"total": HELD, "rows": MEMBERS[(page - 1) * size : page * size]})


@asynccontextmanager
async def serve() -> AsyncIterator[tuple[str, list[Any]]]:
    application = web.Application()
    application[LOG] = []
    application.router.add_get("/capped/members", capped)
    application.router.add_get("/lying/members", lying)
    application.router.add_get("/offset-capped/members", offset_capped)
    application.router.add_get("/strict/members", strict)
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", application[LOG]
    finally:
        await runner.cleanup()


FIELDS = {
    "name": "xm", "id_number": "sfzh", "phone": "sj", "updated_at": "gxsj",
    "gender": {"column": "xb", "codes": {"1": "male", "2": "female"}},
}


def mapping(base_url: str, path: str = "/capped/members", name: str = "zheli",
            **entity: Any) -> dict[str, Any]:
    """The documented example: size = 200, max = 20, larger than what the platform serves."""
    spec: dict[str, Any] = {
        "path": path, "records": "rows", "local_id": "id",
        "pagination": {"type": "page", "page_param": "page", "size_param": "size", "first": 1,
                       "size": 200, "total": "total"},
        "by_keys": {"param": "ids", "separator": ",", "max": 20},
        "fields": FIELDS,
    }
    spec.update(entity)
    return {"source": {"name": name, "kind": "rest", "side": "destination"},
            "connection": {"base_url": base_url, "timeout_seconds": 2.0},
            "entities": {"member": spec}}


@asynccontextmanager
async def open_capped(tmp_path: Path) -> AsyncIterator[RestConnector]:
    async with serve() as (url, _):
        yield RestConnector(parse_mapping(mapping(url)))


@asynccontextmanager
async def open_offset_capped(tmp_path: Path) -> AsyncIterator[RestConnector]:
    async with serve() as (url, _):
        yield RestConnector(parse_mapping(mapping(url, "/offset-capped/members", pagination={
            "type": "offset", "offset_param": "offset", "limit_param": "limit", "size": 200})))


TestCappedPlatformConformance = connector_test_class(
    open_capped, expected_count=HELD, name="TestCappedPlatformConformance")
TestOffsetCappedPlatformConformance = connector_test_class(
    open_offset_capped, expected_count=HELD, name="TestOffsetCappedPlatformConformance")


class _AsBefore(RestConnector):
    """The connector as it was before issue 10: a page shorter than asked ended the listing,
    and a by-id batch was asked once, whatever came back. The kit must fail it."""

    def _next_cursor(self, entity: EntityMapping, body: Any, cursor: str | None, count: int,
                     size: int, seen: int, total: int | None) -> str | None:
        if count < size:
            return None
        return super()._next_cursor(entity, body, cursor, count, size, seen, total)

    async def _read_keys(self, entity: EntityMapping, request: ReadRequest) -> ReadResult:
        assert entity.by_keys is not None
        spec, keys = entity.by_keys, list(dict.fromkeys(request.keys or ()))
        found: dict[str, Record] = {}
        issues: list[DataIssue] = []
        for i in range(0, len(keys), spec.max):
            where = f"GET {entity.path}"
            body = await self._get(
                entity.path or "", {spec.param: ",".join(keys[i : i + spec.max])}, where
            )
            for record in self._convert(
                entity, self._items(entity, body, where), where, None, issues
            ):
                if record is not None:
                    found[record.local_id] = record
        return ReadResult([found.get(k) for k in request.keys or ()], None, issues)


async def test_the_kit_fails_the_old_behaviour_with_expected_and_got() -> None:
    async with serve() as (url, _):
        old = _AsBefore(parse_mapping(mapping(url)))
        try:
            with pytest.raises(AssertionError, match=r"expected the 50 records .* got 20"):
                await PagingAtTheHubsPageSize().test(old, CaseConfig(expected_count=HELD))
            with pytest.raises(
                AssertionError, match=r"batch of 20 ids: expected 20 records, got 10"
            ):
                await ReadByKeysFullBatch().test(old, CaseConfig())
        finally:
            await old.aclose()


async def test_the_kit_fails_a_rest_member_without_by_keys_unless_index_only() -> None:
    async with serve() as (url, _):
        raw = mapping(url)
        del raw["entities"]["member"]["by_keys"]
        bare = RestConnector(parse_mapping(raw))
        raw["entities"]["member"]["index_only"] = True
        declared = RestConnector(parse_mapping(raw))
        try:
            with pytest.raises(AssertionError, match=r"expected by_keys .* got none"):
                await RestMemberReadsById().test(bare, CaseConfig())
            await RestMemberReadsById().test(declared, CaseConfig())
            with pytest.raises(NotSupported):
                await declared.read(ReadRequest("member", keys=["z01"]))
        finally:
            await bare.aclose()
            await declared.aclose()


async def test_paging_goes_on_past_short_pages_until_the_total() -> None:
    async with serve() as (url, log), RestConnector(parse_mapping(mapping(url))) as rest:
        records, _ = await read_all(rest, CaseConfig(page_size=500))
    assert [r.local_id for r in records] == [m["id"] for m in MEMBERS]
    assert [q["page"] for _, q, _ in log] == ["1", "2", "3"]  # the total ends it, no 4th ask


async def test_short_by_id_batches_are_re_asked_and_the_cap_is_learned() -> None:
    keys = [m["id"] for m in MEMBERS[:20]] + ["nope"]
    async with serve() as (url, log), RestConnector(parse_mapping(mapping(url))) as rest:
        first = await rest.read(ReadRequest("member", keys=keys))
        assert [r.local_id if r else None for r in first.records] == [*keys[:20], None]
        assert [(i.code, i.local_id) for i in first.issues] == [("RECORD_NOT_FOUND", "nope")]
        log.clear()
        again = await rest.read(ReadRequest("member", keys=keys[:20]))
    assert [r.local_id if r else None for r in again.records] == keys[:20]
    assert not again.issues
    # learned: the platform answers 10 ids whole, so 20 ids now cost two requests, not re-asks
    assert sorted(len(q["ids"].split(",")) for _, q, _ in log) == [10, 10]


async def test_fixed_params_and_headers_per_request_kind() -> None:
    async with serve() as (url, log):
        raw = mapping(url, "/strict/members", params={"channel": "hub"}, headers={"X-Tenant": "zj"})
        raw["entities"]["member"]["by_keys"].update(
            params={"view": "full"}, headers={"X-Batch": "yes"}
        )
        async with RestConnector(parse_mapping(raw)) as rest:
            records, _ = await read_all(rest, CaseConfig(page_size=20))
            batch = await rest.read(ReadRequest("member", keys=["z01", "z02"]))
    assert len(records) == HELD
    assert [r.local_id if r else None for r in batch.records] == ["z01", "z02"]
    assert all(h.get("X-Tenant") == "zj" for _, q, h in log if "ids" not in q)


def test_mapping_checks_the_new_keys() -> None:
    raw = mapping("http://127.0.0.1:1", index_only=True, params={"size": "5", "lang": "zh"})
    raw["entities"]["member"]["by_keys"]["params"] = {"ids": "x"}
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(raw)
    text = str(caught.value)
    assert "$.entities.member.index_only: the entity has by_keys" in text
    assert "$.entities.member.params.size: the connector sets 'size' itself" in text
    assert "$.entities.member.by_keys.params.ids: the connector sets 'ids' itself" in text
    assert "lang" not in text
    bad_type = mapping("http://127.0.0.1:1", params={"pageSize": 100})
    with pytest.raises(
        ConnectorConfigError, match=r"params\.pageSize: 100 is not of type 'string'"
    ):
        parse_mapping(bad_type)
    sql = {"source": {"name": "county", "kind": "sql", "side": "origin"},
           "connection": {"url": "sqlite+aiosqlite:///x.db"},
           "entities": {"member": {"path": "members", "local_id": "id", "index_only": True,
                                   "fields": {"name": "xm"}}}}
    with pytest.raises(ConnectorConfigError, match="index_only: not used by a sql source"):
        parse_mapping(sql)


# ---- the real sync over them -----------------------------------------------------------------

Factory = async_sessionmaker[AsyncSession]


async def _issues(factory: Factory, code: str) -> list[DataIssueRow]:
    async with factory() as session:
        return list(
            (await session.scalars(select(DataIssueRow).where(DataIssueRow.code == code))).all()
        )


@pytest.mark.store
async def test_sync_indexes_every_member_of_a_capped_platform(
    session_factory: Factory, secret: bytes
) -> None:
    async with serve() as (url, _), RestConnector(parse_mapping(mapping(url))) as rest:
        summary = await sync_source(session_factory, rest, side=Side.DESTINATION, secret=secret)
    assert summary.ok and summary.entities == {"member": HELD}
    assert summary.pages == 3 and summary.shortfalls == {}
    assert await _issues(session_factory, "SOURCE_TOTAL_MISMATCH") == []


@pytest.mark.store
async def test_sync_reports_a_total_the_pages_do_not_reach(
    session_factory: Factory, secret: bytes
) -> None:
    async with (
        serve() as (url, _),
        RestConnector(parse_mapping(mapping(url, "/lying/members"))) as rest,
    ):
        summary = await sync_source(session_factory, rest, side=Side.DESTINATION, secret=secret)
        assert summary.ok and summary.entities == {"member": HELD}
        assert summary.shortfalls == {"member": (LIE, HELD)}
        [issue] = await _issues(session_factory, "SOURCE_TOTAL_MISMATCH")
        assert (issue.source, issue.entity, issue.resolved_at) == ("zheli", "member", None)
        assert (
            "reported 60 member records (its total) but paging to its end gave 50" in issue.message
        )
        # a later full sync that gets everything resolves it, like any issue not seen again
        await asyncio.sleep(0.01)
    async with serve() as (url, _), RestConnector(parse_mapping(mapping(url))) as rest:
        await sync_source(session_factory, rest, side=Side.DESTINATION, secret=secret)
    [resolved] = await _issues(session_factory, "SOURCE_TOTAL_MISMATCH")
    assert resolved.resolved_at is not None


async def test_a_page_cursor_stored_before_issue_10_still_resumes() -> None:
    """sync_state may hold a "page/size" cursor written by the earlier connector."""
    async with serve() as (url, _), RestConnector(parse_mapping(mapping(url))) as rest:
        page = await rest.read(ReadRequest("member", cursor="2/20", page_size=500))
    assert [r.local_id for r in page.records if r] == [m["id"] for m in MEMBERS[20:40]]
    assert page.next_cursor == "3/20/40" and page.total == HELD
