"""REST connector against real aiohttp apps on 127.0.0.1 (ephemeral ports): cursor, page/size
and offset paging; bearer, API key and HMAC auth; timeouts, refusals, 5xx and garbage."""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from connectors.base import Capability, PartialDate, ReadRequest
from connectors.errors import (
    ConnectorConfigError,
    SourceInvalid,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from connectors.mapping import parse_mapping
from connectors.rest import CLIENT_ERROR_MAP, RestConnector, map_client_error, sign_params
from connectors.testing import CaseConfig, connector_test_class, make_id_number, read_all

TOKEN, API_KEY, APP_KEY, SECRET = "tok-123", "key-456", "zheli", "hmac-secret"
MEMBERS = [
    {
        "memberId": f"m{i:02d}",
        "realName": f"成员{i}",
        "sex": "1" if i % 2 else "2",
        "idCard": make_id_number("330102", "19880808", i),
        "birthday": "19880808",
        "areaName": "上城区",
        "phone": "13800138000",
        "updatedAt": f"2024-05-{i:02d}T10:00:00+08:00",
    }
    for i in range(1, 8)
] + [
    {
        "memberId": "m99",
        "realName": "坏",
        "sex": "X",
        "idCard": "33010219880808123",
        "birthday": "1988-13-01",
        "areaName": "上城区",
        "updatedAt": "2024-05-20T10:00:00+08:00",
    }
]


def _select(request: web.Request) -> list[dict[str, Any]]:
    rows = MEMBERS
    if "ids" in request.query:
        wanted = set(request.query["ids"].split(","))
        rows = [m for m in rows if m["memberId"] in wanted]
    if "updatedSince" in request.query:
        since = datetime.strptime(request.query["updatedSince"], "%Y-%m-%dT%H:%M:%S%z")
        rows = [m for m in rows if datetime.fromisoformat(m["updatedAt"]) > since]
    return rows


async def cursor_members(request: web.Request) -> web.Response:
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return web.json_response({"error": "unauthorised"}, status=401)
    rows = _select(request)
    start, limit = int(request.query.get("cursor", 0)), int(request.query.get("limit", 200))
    page = rows[start : start + limit]
    more = start + limit < len(rows)
    return web.json_response(
        {"data": {"items": page, "nextCursor": str(start + limit) if more else None}}
    )


async def page_members(request: web.Request) -> web.Response:
    params = {k: v for k, v in request.query.items() if k != "sign"}
    if request.query.get("appKey") != APP_KEY or request.query.get("sign") != sign_params(
        params, SECRET
    ):
        return web.json_response({"code": 403}, status=403)
    if abs(int(request.query["timestamp"]) - datetime.now().timestamp()) > 60:
        return web.json_response({"code": 403}, status=403)
    rows = _select(request)
    page, size = int(request.query["page"]), int(request.query["size"])
    snake = [{"member_id": m["memberId"], "real_name": m["realName"]} for m in rows]
    return web.json_response({"total": len(rows), "list": snake[(page - 1) * size : page * size]})


async def offset_members(request: web.Request) -> web.Response:
    if request.headers.get("X-Api-Key") != API_KEY:
        return web.json_response({}, status=403)
    offset, limit = int(request.query["offset"]), int(request.query["limit"])
    return web.json_response(
        [{"id": m["memberId"], "name": m["realName"]} for m in MEMBERS][offset : offset + limit]
    )


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.json_response([])


def app() -> web.Application:
    application = web.Application()
    application.router.add_get("/cursor/members", cursor_members)
    application.router.add_get("/page/members", page_members)
    application.router.add_get("/offset/members", offset_members)
    application.router.add_get("/slow", slow)
    application.router.add_get("/boom", lambda r: _status(503))
    application.router.add_get("/teapot", lambda r: _status(418))
    application.router.add_get("/html", lambda r: _text("<html>维护中</html>"))
    application.router.add_get(
        "/wrong-shape", lambda r: _json({"data": {"items": {"not": "a list"}}})
    )
    application.router.add_get("/not-objects", lambda r: _json({"data": {"items": [1, 2]}}))
    application.router.add_get("/huge", lambda r: _json(_padded(2 * 1024 * 1024)))
    application.router.add_get("/huge-streamed", _streamed)
    application.router.add_get("/no-ids", lambda r: _json({"data": {"items": [
        MEMBERS[0], {**MEMBERS[1], "memberId": None}, {**MEMBERS[2], "memberId": {"x": 1}},
        {k: v for k, v in MEMBERS[3].items() if k != "memberId"}]}}))
    return application


def _padded(size: int) -> dict[str, Any]:
    """A valid answer of about `size` bytes (one member with a long address)."""
    return {"data": {"items": [{**MEMBERS[0], "areaName": "x" * size}]}}


async def _streamed(request: web.Request) -> web.StreamResponse:
    """An answer without Content-Length that never ends: only a read cap stops it."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b'{"data": {"items": [{"memberId": "m01", "realName": "')
    try:
        for _ in range(10_000):
            await response.write(b"x" * 65536)
    except (ConnectionResetError, RuntimeError):
        pass
    return response


async def _status(code: int) -> web.Response:
    return web.Response(status=code)


async def _text(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/html")


async def _json(body: Any) -> web.Response:
    return web.json_response(body)


@asynccontextmanager
async def serve() -> AsyncIterator[str]:
    runner = web.AppRunner(app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def cursor_mapping(
    base_url: str, path: str = "/cursor/members", **connection: Any
) -> dict[str, Any]:
    return {
        "source": {"name": "chengdu", "kind": "rest", "title": "蓉城先锋", "side": "destination"},
        "connection": {"base_url": base_url, "timeout_seconds": 1.0,
                       "auth": {"type": "bearer", "token": "${TOKEN}"}, **connection},
        "entities": {"member": {
            "path": path, "records": "data.items", "local_id": "memberId",
            "pagination": {"type": "cursor", "cursor_param": "cursor", "next": "data.nextCursor",
                           "size_param": "limit", "size": 200},
            "by_keys": {"param": "ids", "separator": ",", "max": 3},
            "changed_since": {"param": "updatedSince", "format": "%Y-%m-%dT%H:%M:%S%z"},
            "required": ["id_number", "name"],
            "fields": {
                "name": "realName", "id_number": "idCard", "phone": "phone",
                "gender": {"column": "sex", "codes": {"1": "male", "2": "female"}},
                "birth_date": {"column": "birthday", "formats": ["%Y%m%d"]},
                "destination_region_code": "areaName", "updated_at": "updatedAt",
            },
        }},
    }


def connector(raw: dict[str, Any], token: str = TOKEN) -> RestConnector:
    return RestConnector(parse_mapping(raw, env={"TOKEN": token, "SECRET": SECRET, "KEY": API_KEY}))


@asynccontextmanager
async def open_cursor(tmp_path: Path) -> AsyncIterator[RestConnector]:
    async with serve() as url:
        yield connector(cursor_mapping(url))


@asynccontextmanager
async def open_page_hmac(tmp_path: Path) -> AsyncIterator[RestConnector]:
    async with serve() as url:
        yield connector(
            {
                "source": {"name": "zheli", "kind": "rest", "side": "destination"},
                "connection": {
                    "base_url": url,
                    "auth": {"type": "hmac", "app_key": APP_KEY, "secret": "${SECRET}"},
                },
                "entities": {
                    "member": {
                        "path": "/page/members",
                        "records": "list",
                        "local_id": "member_id",
                        "index_only": True,  # no by-id read: said on purpose, or the kit fails it
                        "pagination": {
                            "type": "page",
                            "page_param": "page",
                            "size_param": "size",
                            "first": 1,
                            "size": 3,
                            "total": "total",
                        },
                        "fields": {"name": "real_name"},
                    }
                },
            }
        )


@asynccontextmanager
async def open_offset_key(tmp_path: Path) -> AsyncIterator[RestConnector]:
    async with serve() as url:
        yield connector(
            {
                "source": {"name": "county-api", "kind": "rest", "side": "origin"},
                "connection": {
                    "base_url": url,
                    "auth": {"type": "api_key", "header": "X-Api-Key", "key": "${KEY}"},
                },
                "entities": {
                    "member": {
                        "path": "/offset/members",
                        "local_id": "id",
                        "index_only": True,
                        "pagination": {
                            "type": "offset",
                            "offset_param": "offset",
                            "limit_param": "limit",
                            "size": 3,
                        },
                        "fields": {"name": "name"},
                    }
                },
            }
        )


@asynccontextmanager
async def open_wrong_token(tmp_path: Path) -> AsyncIterator[RestConnector]:
    async with serve() as url:
        yield connector(cursor_mapping(url), token="wrong")


TestCursorBearerConformance = connector_test_class(
    open_cursor, expected_count=8, expect_issues=True, page_size=3, bad_factory=open_wrong_token,
    name="TestCursorBearerConformance",
)
TestPageHmacConformance = connector_test_class(
    open_page_hmac, expected_count=8, name="TestPageHmacConformance"
)
TestOffsetApiKeyConformance = connector_test_class(
    open_offset_key, expected_count=8, name="TestOffsetApiKeyConformance"
)


async def test_values_issues_and_locations(tmp_path: Path) -> None:
    async with open_cursor(tmp_path) as rest:
        records, issues = await read_all(rest, CaseConfig(page_size=5))
    first = records[0].values
    assert first["gender"] == "male" and first["birth_date"] == PartialDate(1988, 8, 8)
    assert first["destination_region_code"] == "330102"
    assert first["updated_at"] == datetime(2024, 5, 1, 2, tzinfo=UTC)
    assert {(i.code, i.column) for i in issues} == {
        ("UNKNOWN_CODE", "sex"), ("INVALID_ID_NUMBER", "idCard"), ("INVALID_DATE", "birthday"),
    }
    bad = next(i for i in issues if i.code == "INVALID_ID_NUMBER")
    assert str(bad.location) == "GET /cursor/members cursor 5 row 3" and bad.local_id == "m99"
    assert "33010219880808123" not in repr(issues)


async def test_by_keys_chunks_and_aligns(tmp_path: Path) -> None:
    async with open_cursor(tmp_path) as rest:
        keys = ["m07", "nope", "m01", "m02", "m03", "m04", "m01"]
        result = await rest.read(ReadRequest("member", keys=keys, fields=frozenset({"name"})))
    assert [r.local_id if r else None for r in result.records] == [
        "m07",
        None,
        "m01",
        "m02",
        "m03",
        "m04",
        "m01",
    ]
    assert dict(result.records[0].values) == {"name": "成员7"}  # type: ignore[union-attr]


async def test_changed_since_parameter(tmp_path: Path) -> None:
    async with open_cursor(tmp_path) as rest:
        since = datetime(2024, 5, 6, 2, tzinfo=UTC)
        records, _ = await read_all(rest, CaseConfig(), since=since)
    assert [r.local_id for r in records] == ["m07", "m99"]


async def test_without_by_keys_the_capability_is_absent(tmp_path: Path) -> None:
    async with open_page_hmac(tmp_path) as rest:
        assert Capability.READ_BY_KEYS not in rest.capabilities
        assert Capability.READ_CHANGES not in rest.capabilities


@pytest.mark.parametrize(("path", "error", "text"), [
    ("/boom", SourceUnavailable, "HTTP 503"),
    ("/teapot", SourceRejected, "HTTP 418"),
    ("/html", SourceInvalid, "not JSON"),
    ("/wrong-shape", SourceInvalid, "no record list at 'data.items'"),
    ("/not-objects", SourceInvalid, "JSON objects"),
    ("/missing", SourceRejected, "HTTP 404"),
])
async def test_bad_answers(path: str, error: type[Exception], text: str) -> None:
    async with serve() as url:
        async with connector(cursor_mapping(url, path)) as rest:
            with pytest.raises(error, match=text):
                await rest.read(ReadRequest("member"))


async def test_answers_over_max_response_bytes_are_refused() -> None:
    async with serve() as url:
        async with connector(cursor_mapping(url, "/huge")) as rest:  # default 8 MiB: read
            result = await rest.read(ReadRequest("member"))
            assert [r.local_id if r else None for r in result.records] == ["m01"]
        for path in ("/huge", "/huge-streamed"):
            raw = cursor_mapping(url, path, max_response_bytes=1024 * 1024)
            async with connector(raw) as rest:
                with pytest.raises(SourceInvalid, match="over 1048576 bytes") as caught:
                    await asyncio.wait_for(rest.read(ReadRequest("member")), 10)
            assert caught.value.code == "SOURCE_INVALID"
            assert "max_response_bytes" in str(caught.value)


def test_max_response_bytes_is_validated() -> None:
    with pytest.raises(ConnectorConfigError, match="max_response_bytes"):
        connector(cursor_mapping("http://127.0.0.1:1", max_response_bytes=10))


async def test_items_without_a_usable_id_become_issues() -> None:
    async with serve() as url:
        async with connector(cursor_mapping(url, "/no-ids")) as rest:
            result = await rest.read(ReadRequest("member"))
    assert [r.local_id if r else None for r in result.records] == ["m01"]
    missing = [i for i in result.issues if i.code == "MISSING_KEY"]
    assert [i.location.row for i in missing] == [2, 3, 4]
    assert all(i.column == "memberId" for i in missing)


async def test_wrong_credentials_rejected() -> None:
    async with serve() as url:
        async with connector(cursor_mapping(url), token="wrong") as rest:
            with pytest.raises(SourceRejected, match="HTTP 401"):
                await rest.read(ReadRequest("member"))


async def test_timeout() -> None:
    async with serve() as url:
        raw = cursor_mapping(url, "/slow")
        raw["connection"]["timeout_seconds"] = 0.2
        async with connector(raw) as rest:
            with pytest.raises(SourceTimeout, match="chengdu"):
                await rest.read(ReadRequest("member"))


async def test_connection_refused() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with connector(cursor_mapping(f"http://127.0.0.1:{port}")) as rest:
        with pytest.raises(SourceUnavailable) as caught:
            await rest.read(ReadRequest("member"))
    assert type(caught.value) is SourceUnavailable
    assert TOKEN not in str(caught.value)


def test_every_aiohttp_client_error_is_mapped_explicitly() -> None:
    """Each exported aiohttp error is covered by an entry more specific than ClientError."""
    exported = [
        obj for _, obj in inspect.getmembers(aiohttp, inspect.isclass)
        if issubclass(obj, aiohttp.ClientError) and obj is not aiohttp.ClientError
    ]
    specific = [foreign for foreign, _ in CLIENT_ERROR_MAP if foreign is not aiohttp.ClientError]
    unmapped = [e.__name__ for e in exported if not any(issubclass(e, f) for f in specific)]
    assert unmapped == []


@pytest.mark.parametrize(("exc", "expected"), [
    (aiohttp.ConnectionTimeoutError(), SourceTimeout),
    (aiohttp.SocketTimeoutError(), SourceTimeout),
    (aiohttp.ServerTimeoutError(), SourceTimeout),
    (TimeoutError(), SourceTimeout),
    (aiohttp.ServerDisconnectedError(), SourceUnavailable),
    (aiohttp.ClientPayloadError(), SourceInvalid),
    (aiohttp.InvalidURL("x"), ConnectorConfigError),
    (aiohttp.ClientConnectionError(), SourceUnavailable),
    (aiohttp.ClientOSError(), SourceUnavailable),
    (aiohttp.ClientError(), SourceUnavailable),
])
def test_map_client_error(exc: BaseException, expected: type[Exception]) -> None:
    mapped = map_client_error("chengdu", exc, "GET /x")
    assert type(mapped) is expected


def test_sign_params_is_the_documented_formula() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"s", b"a=1&appKey=k&timestamp=10", hashlib.sha256).hexdigest()
    assert sign_params({"timestamp": "10", "appKey": "k", "a": "1"}, "s") == expected


async def test_fixed_params_are_signed_with_the_rest() -> None:
    """hmac signs every query parameter, the mapping's fixed `params` included (a platform
    would refuse the request otherwise)."""
    async with serve() as url:
        raw = {
            "source": {"name": "zheli", "kind": "rest", "side": "destination"},
            "connection": {
                "base_url": url,
                "auth": {"type": "hmac", "app_key": APP_KEY, "secret": "${SECRET}"},
            },
            "entities": {
                "member": {
                    "path": "/page/members",
                    "records": "list",
                    "local_id": "member_id",
                    "index_only": True,
                    "params": {"lang": "zh-CN"},
                    "pagination": {
                        "type": "page",
                        "page_param": "page",
                        "size_param": "size",
                        "size": 3,
                        "total": "total",
                    },
                    "fields": {"name": "real_name"},
                }
            },
        }
        async with connector(raw) as rest:
            records, _ = await read_all(rest, CaseConfig(page_size=3))
    assert len(records) == len(MEMBERS)
