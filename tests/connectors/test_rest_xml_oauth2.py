"""REST sources answering XML to POST queries behind OAuth2 client credentials (issue 10 §4),
against the demo's study platform (a real aiohttp server on 127.0.0.1: XML answers, pages
capped at 20 rows, by-id batches at 10 ids, a real token endpoint) and against a server
answering hostile XML (XXE, billion laughs, oversized).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connectors.base import ReadRequest
from connectors.errors import ConnectorConfigError, SourceInvalid, SourceRejected
from connectors.mapping import load_mapping, parse_mapping
from connectors.rest import RestConnector
from connectors.testing import CaseConfig, connector_test_class
from connectors.testing import read_all as _read_all
from hub.demo import _study
from hub.demo.generator import generate_world
from hub.demo.systems import study
from hub.demo.systems.study import TOKEN_PATH, StudyPlatform
from hub.demo.world import MAPPINGS_DIR

SECRET = "client-secret-for-tests-0123456789"
WORLD = generate_world(160, 5)


def study_mapping(url: str, *, secret: str = SECRET, **connection: Any) -> Any:
    return load_mapping(
        MAPPINGS_DIR / "study.toml",
        overrides={"base_url": url, **connection},
        env={"STUDY_TOKEN_URL": url + TOKEN_PATH, "STUDY_CLIENT_ID": "hub",
             "STUDY_CLIENT_SECRET": secret},
    )


@asynccontextmanager
async def platform(**kwargs: Any) -> AsyncIterator[StudyPlatform]:
    async with StudyPlatform(WORLD, client_id="hub", client_secret=SECRET, **kwargs) as p:
        yield p


@asynccontextmanager
async def open_study(tmp_path: Path) -> AsyncIterator[RestConnector]:
    async with platform() as p:
        yield RestConnector(study_mapping(p.url))


@asynccontextmanager
async def open_study_records(tmp_path: Path) -> AsyncIterator[RestConnector]:
    async with platform() as p:
        yield RestConnector(study_mapping(p.url))


@asynccontextmanager
async def open_wrong_secret(tmp_path: Path) -> AsyncIterator[RestConnector]:
    async with platform() as p:
        yield RestConnector(study_mapping(p.url, secret="not-the-secret"))


LEARNERS = sum(1 for p in WORLD.members() if _study.studies(p))
RECORDS = sum(len(list(_study.study_records(_study.study_member(p))))
              for p in WORLD.members() if _study.studies(p))


async def read_all(connector: RestConnector, entity: str, *, page_size: int) -> Any:
    return await _read_all(connector, CaseConfig(entity, None, False, page_size, frozenset()))

# the kit pages with the mapping's real size (100: the platform cuts it to 20) and asks a
# full by-id batch (50: the platform answers 10), as for any capped JSON platform
TestStudyPlatformConformance = connector_test_class(
    open_study, expected_count=LEARNERS, bad_factory=open_wrong_secret,
    name="TestStudyPlatformConformance")
TestStudyRecordsConformance = connector_test_class(
    open_study_records, entity="study_record", expected_count=RECORDS,
    name="TestStudyRecordsConformance")


async def test_xml_pages_past_the_cap_and_batches_are_re_asked() -> None:
    assert LEARNERS > 2 * study.MAX_PAGE and RECORDS > 2 * study.MAX_PAGE
    async with platform() as p:
        connector = RestConnector(study_mapping(p.url))
        try:
            records, issues = await read_all(connector, "member", page_size=100)
            assert len(records) == LEARNERS and not issues
            ids = [r.local_id for r in records][:50]
            result = await connector.read(ReadRequest("member", keys=ids))
            assert [r.local_id if r else None for r in result.records] == ids
            assert connector._learned_batch == {"member": study.MAX_IDS}
            rows, _ = await read_all(connector, "study_record", page_size=100)
            assert len(rows) == RECORDS
            first = next(r for r in rows if r.values["score"] is not None)
            assert isinstance(first.values["hours"], float) and first.values["course"]
            assert first.values["completed_at"].tzinfo is not None
        finally:
            await connector.aclose()
        assert p.tokens_issued == 1  # one token served every page and batch


async def test_oauth2_token_is_refreshed_once_on_401_and_on_expiry() -> None:
    async with platform(token_lifetime=1) as p:
        connector = RestConnector(study_mapping(p.url))
        try:
            await connector.read(ReadRequest("member", page_size=5))
            assert p.tokens_issued == 1
            p.revoke_tokens()  # a key rotation: the cached token is refused once
            result = await connector.read(ReadRequest("member", page_size=5))
            assert len(result.records) == 5
            assert (p.tokens_issued, p.refused) == (2, 1)
            await asyncio.sleep(0.6)  # past the lifetime less its margin (half of 1 s)
            await connector.read(ReadRequest("member", page_size=5))
            assert (p.tokens_issued, p.refused) == (3, 1)  # renewed before, not after, a 401
            # concurrent requests share one fetch
            p.revoke_tokens()
            connector._oauth._token = None  # type: ignore[union-attr]
            await asyncio.gather(*(connector.read(ReadRequest("member", page_size=2))
                                   for _ in range(5)))
            assert p.tokens_issued == 4
        finally:
            await connector.aclose()


async def test_oauth2_wrong_secret_is_rejected_without_the_secret_in_the_message() -> None:
    async with platform() as p:
        mapping = study_mapping(p.url, secret="wrong-secret-value")
        assert "wrong-secret-value" not in repr(mapping.connection)
        connector = RestConnector(mapping)
        try:
            with pytest.raises(SourceRejected, match="refused the client credentials") as info:
                await connector.read(ReadRequest("member", page_size=5))
            assert "wrong-secret-value" not in str(info.value)
        finally:
            await connector.aclose()


async def test_a_token_refused_twice_is_source_rejected() -> None:
    async with platform() as p:
        connector = RestConnector(study_mapping(p.url))
        try:
            await connector.read(ReadRequest("member", page_size=1))
            p.authenticate = lambda request: (  # type: ignore[method-assign]
                None if request.path == TOKEN_PATH else p.error_response(401, "no"))
            with pytest.raises(SourceRejected, match="HTTP 401: check the credentials"):
                await connector.read(ReadRequest("member", page_size=1))
            assert p.tokens_issued == 2  # one retry with a fresh token, then it gives up
        finally:
            await connector.aclose()


# ---- hostile XML -------------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<response><data total="1"><learner userId="1"><idCard>&x;</idCard></learner></data></response>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<response><data total="1"><learner userId="1"><realName>&lol3;</realName></learner></data>
</response>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE response SYSTEM "http://127.0.0.1:9/evil.dtd">
<response><data total="0"/></response>"""
NOT_XML = b'{"data": []}'
BIG = b"<response><data total='1'>" + b"<learner userId='1'/>" * 200_000 + b"</data></response>"


@asynccontextmanager
async def hostile(body: bytes) -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/xml")

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "token_type": "bearer",
                                  "expires_in": 60})

    app = web.Application()
    app.add_routes([web.post("/api/v2/learners/list", answer), web.post(TOKEN_PATH, token)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(("body", "said"), [
    (XXE, "declares a DTD"), (LAUGHS, "declares a DTD"), (EXTERNAL_DTD, "declares a DTD"),
    (NOT_XML, "not well-formed XML"), (BIG, "over 1048576 bytes"),
])
async def test_hostile_xml_is_refused(body: bytes, said: str) -> None:
    async with hostile(body) as url:
        connector = RestConnector(study_mapping(url, max_response_bytes=1048576))
        try:
            with pytest.raises(SourceInvalid, match=said) as info:
                await connector.read(ReadRequest("member", page_size=5))
            assert "root:" not in str(info.value) and "lol" not in str(info.value)
        finally:
            await connector.aclose()


# ---- the mapping check -------------------------------------------------------------------

def _doc(**entity: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"path": "/x", "local_id": "@id", "index_only": True,
                            "fields": {"name": "realName"}, **entity}
    return {"source": {"name": "s", "kind": "rest", "side": "origin"},
            "connection": {"base_url": "http://127.0.0.1:1", "format": "xml"},
            "entities": {"member": spec}}


def _problems(doc: dict[str, Any]) -> str:
    with pytest.raises(ConnectorConfigError) as info:
        parse_mapping(doc, env={})
    return str(info.value)


def test_mapping_refuses_bad_xpaths_bodies_without_post_and_unknown_authorities() -> None:
    said = _problems(_doc(records="//learner[", fields={"name": "real/Name[@"}))
    assert "$.entities.member.records: '//learner[' is not an XPath expression" in said
    assert "$.entities.member.fields.name" in said
    assert "only a POST request has a body" in _problems(_doc(body="json"))
    doc = _doc()
    doc["source"]["field_authority"] = {"nickname": "record"}
    assert "'nickname' is not a canonical member field" in _problems(doc)
    doc = _doc()
    doc["source"]["authority"] = "secondary"
    assert "$.source.authority" in _problems(doc)
    doc = _doc()
    doc["connection"]["auth"] = {"type": "oauth2", "token_url": "http://127.0.0.1:1/t",
                                 "client_id": "c", "client_secret": "literal"}
    assert "write credentials as an ${ENV} reference" in _problems(doc)
    doc["connection"]["auth"]["client_secret"] = "${S}"
    doc["connection"]["auth"]["token_url"] = "ftp://x"
    assert "$.connection.auth.token_url" in _problems(doc) or "token_url" in _problems(doc)


def test_auxiliary_fields_follow_authority_and_field_authority() -> None:
    doc = _doc()
    doc["source"].update(authority="auxiliary", field_authority={"phone": "record"})
    info = parse_mapping(doc, env={}).source
    assert "name" in info.auxiliary_fields() and "id_number" in info.auxiliary_fields()
    assert "phone" not in info.auxiliary_fields()
    assert "updated_at" not in info.auxiliary_fields()  # a record's time is never ranked
    doc["source"].update(authority="record", field_authority={"employer": "auxiliary"})
    assert parse_mapping(doc, env={}).source.auxiliary_fields() == {"employer"}


async def test_post_form_body_carries_paging_and_ids() -> None:
    seen: list[dict[str, Any]] = []

    async def answer(request: web.Request) -> web.Response:
        form = dict(await request.post())
        seen.append(form)
        if "ids" in form:
            rows = "".join(f"<m id='{i}'><n>x{i}</n></m>" for i in str(form["ids"]).split("|"))
            return web.Response(body=f"<r>{rows}</r>".encode(), content_type="text/xml")
        page = int(str(form["p"]))
        rows = "" if page > 2 else f"<m id='{page}'><n>x{page}</n></m>"
        return web.Response(body=f"<r>{rows}</r>".encode(), content_type="text/xml")

    app = web.Application()
    app.add_routes([web.post("/m", answer)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    doc = {"source": {"name": "f", "kind": "rest", "side": "origin"},
           "connection": {"base_url": url, "format": "xml"},
           "entities": {"member": {
               "path": "/m", "method": "POST", "body": "form", "records": "m",
               "local_id": "@id", "params": {"tenant": "t1"},
               "pagination": {"type": "page", "page_param": "p", "size_param": "s", "size": 5},
               "by_keys": {"param": "ids", "separator": "|", "max": 3},
               "fields": {"name": "n"}}}}
    connector = RestConnector(parse_mapping(doc, env={}))
    try:
        records, _ = await read_all(connector, "member", page_size=5)
        assert [r.values["name"] for r in records] == ["x1", "x2"]
        assert seen[0] == {"tenant": "t1", "p": "1", "s": "5"}
        result = await connector.read(ReadRequest("member", keys=["a", "b"]))
        assert [r.local_id for r in result.records if r] == ["a", "b"]
        assert seen[-1] == {"ids": "a|b"}
    finally:
        await connector.aclose()
        await runner.cleanup()
