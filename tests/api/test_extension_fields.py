"""Deployment extension fields (issue 10 §5b): declared in a test yanxing.toml, mapped by two
real SQLite systems, synced, written into that deployment's SDL by `yanxing schema export
--config`, and served over real HTTP (uvicorn) policed by signed contracts; the core SDL stays
as published.

- 泸县 (origin) holds the members with 党内职务 (`party_duty`, ordinary), 困难党员 (`hardship`,
  bool, masked) and 入党日期 (`joined_on`, date, identifying);
- 温江 (destination) holds the same members, and a contract grants it `partyDuty` in full and
  `joinedOn` by year, nothing else.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from connectors.factory import open_connector
from connectors.idcard import normalise_id_number
from connectors.testing import make_id_number
from hub.cli import main
from hub.clock import utcnow
from hub.contracts.demo import DEMO_PURPOSE, build_demo_trust, two_party_contract
from hub.contracts.keys import load_private_key
from hub.contracts.lifecycle import sign_contract
from hub.errors import ConfigError
from hub.federation.sync import SyncTarget, sync_all
from hub.settings import load_settings
from hub.store.session import create_engine, create_session_factory, init_db

LOOP = pytest.mark.asyncio(loop_scope="module")
CORE_SDL = Path(__file__).resolve().parents[2] / "schema" / "yanxing.graphql"
SECRET = "x" * 40
PARTIES = [("wenjiang", "温江区委组织部", ["510115"]), ("luxian", "泸县委组织部", ["510521"])]
EXTENSIONS = """
[extensions.member.party_duty]
type = "string"
label = "党内职务"

[extensions.member.hardship]
type = "bool"
label = "困难党员"
sensitivity = "masked"

[extensions.member.joined_on]
type = "date"
label = "入党日期"
sensitivity = "identifying"
"""
ORIGIN_MAPPING = """
[source]
name = "luxian_db"
kind = "sql"
side = "origin"
[connection]
url = "sqlite+aiosqlite:///luxian.db"
[entities.member]
path = "members"
local_id = "id"
[entities.member.fields]
id_number = "sfzh"
name = "xm"
origin_region_code = "hjd"
destination_region_code = "xjd"
[entities.member.extensions]
party_duty = "dnzw"
hardship = { column = "knzt", codes = { "1" = true, "0" = false } }
joined_on = { column = "rdrq", formats = ["%Y%m%d"] }
"""
DEST_MAPPING = """
[source]
name = "wenjiang_db"
kind = "sql"
side = "destination"
[connection]
url = "sqlite+aiosqlite:///wenjiang.db"
[entities.member]
path = "members"
local_id = "id"
[entities.member.fields]
id_number = "sfzh"
employer = "gzdw"
"""


def _people() -> list[tuple[str, str, str, str, str]]:
    """(ID number, name, 党内职务, 困难党员, 入党日期) of five members of 泸县 living in 温江."""
    return [(normalise_id_number(make_id_number("510521", sequence=i + 1)), f"成员{i}",
             ["支部书记", "组织委员", "宣传委员", "", "党小组长"][i], str(i % 2),
             f"20{10 + i}0{i + 1}15") for i in range(5)]


def _databases(base: Path) -> None:
    with sqlite3.connect(base / "luxian.db") as db:
        db.execute("CREATE TABLE members (id TEXT, sfzh TEXT, xm TEXT, hjd TEXT, xjd TEXT, "
                   "dnzw TEXT, knzt TEXT, rdrq TEXT)")
        db.executemany("INSERT INTO members VALUES (?, ?, ?, '510521', '510115', ?, ?, ?)",
                       [(f"L{i}", *p) for i, p in enumerate(_people())])
    with sqlite3.connect(base / "wenjiang.db") as db:
        db.execute("CREATE TABLE members (id TEXT, sfzh TEXT, gzdw TEXT)")
        db.executemany("INSERT INTO members VALUES (?, ?, '某公司')",
                       [(f"W{i}", p[0]) for i, p in enumerate(_people())])


def _contract(base: Path, trust: Any) -> Path:
    now = utcnow()
    doc = two_party_contract(PARTIES[0], PARTIES[1], not_before=now.replace(year=now.year - 1),
                             not_after=now.replace(year=now.year + 1))
    doc["id"] = "wenjiang--luxian--extensions"
    doc["permissions"]["read"][1]["fields"]["MemberExtensions"] = {
        "partyDuty": "full", "joinedOn": "year"}
    signed: dict[str, Any] = doc
    for party in ("wenjiang", "luxian"):
        kid, key = trust.party_keys[party]
        signed = sign_contract(signed, load_private_key(key), kid, now=now)
    signed = sign_contract(signed, trust.hub_key, trust.hub_kid, now=now)
    path = base / "trust" / "contracts" / "extensions.jws.json"
    path.write_text(json.dumps(signed), encoding="utf-8")
    return path


def _config(base: Path, trust: Any, contract: Path, *, extensions: str = EXTENSIONS) -> Path:
    (base / "luxian.toml").write_text(ORIGIN_MAPPING, encoding="utf-8")
    (base / "wenjiang.toml").write_text(DEST_MAPPING, encoding="utf-8")

    def rel(p: Path) -> str:
        return p.resolve().relative_to(base.resolve()).as_posix()

    config = base / "yanxing.toml"
    config.write_text(
        f'[hub]\ndatabase_url = "sqlite+aiosqlite:///hub.db"\nsecret = "{SECRET}"\n'
        'mode = "development"\n\n'
        '[[sources]]\nmapping = "luxian.toml"\nowner = "luxian"\n\n'
        '[[sources]]\nmapping = "wenjiang.toml"\nowner = "wenjiang"\n\n'
        f'[trust]\nregistry = "{rel(trust.registry_path)}"\n'
        f'hub_public_key = "{rel(trust.hub_public_key_path)}"\n'
        f'audience = "{trust.hub_id}"\nreplay_cache = "memory"\n'
        f'contracts = ["{rel(contract)}"]\n' + extensions, encoding="utf-8")
    return config


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Any, str]]:
    import uvicorn

    from hub.app import create_app

    base = tmp_path_factory.mktemp("extensions")
    _databases(base)
    trust = build_demo_trust(base / "trust", PARTIES)
    config = _config(base, trust, _contract(base, trust))
    settings = load_settings(config, env={})
    engine = create_engine(settings.hub.database_url)
    connectors = [open_connector(s.mapping) for s in settings.sources]
    try:
        await init_db(engine)
        summaries = await sync_all(create_session_factory(engine),
                                   [SyncTarget(c, s.side) for c, s in
                                    zip(connectors, settings.sources)],
                                   secret=settings.hub.secret_bytes)
        assert all(s.ok for s in summaries), summaries
    finally:
        for connector in connectors:
            await connector.aclose()
        await engine.dispose()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield (base, trust, config), f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _ask(served: tuple[Any, str], party: str, query: str) -> dict[str, Any]:
    (_, trust, _), url = served
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{url}/graphql", json={"query": query},
            headers={"Authorization": f"Bearer {trust.token_for(party, purpose=DEMO_PURPOSE)}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


@LOOP
async def test_schema_export_with_config_writes_the_deployment_sdl(
        served: tuple[Any, str], capsys: pytest.CaptureFixture[str]) -> None:
    (base, _, config), _ = served
    out = base / "deployment.graphql"
    assert main(["schema", "export", "--config", str(config), "--out", str(out)]) == 0
    sdl = out.read_text(encoding="utf-8")
    assert "extensions: MemberExtensions!" in sdl
    for line in ("partyDuty: String", "hardship: Boolean", "joinedOn: PartialDate",
                 "党内职务", "入党日期"):
        assert line in sdl
    core = CORE_SDL.read_text(encoding="utf-8")
    assert "MemberExtensions" not in core and "extensions:" not in core
    # default target: yanxing.graphql beside the configuration
    assert main(["schema", "export", "--config", str(config)]) == 0
    assert (base / "yanxing.graphql").read_text(encoding="utf-8") == sdl


@LOOP
async def test_the_owner_reads_its_extension_fields_identifying_ones_masked(
        served: tuple[Any, str]) -> None:
    body = await _ask(served, "luxian", """{ members(first: 10) { nodes { name
        extensions { partyDuty hardship joinedOn } } } }""")
    assert "errors" not in body, body
    by_name = {n["name"]: n["extensions"] for n in body["data"]["members"]["nodes"]}
    people = {p[1]: p for p in _people()}
    assert by_name.keys() == people.keys()
    for name, ext in by_name.items():
        _, _, duty, hardship, joined = people[name]
        assert ext["partyDuty"] == (duty or None)
        assert ext["hardship"] is (hardship == "1")
        # identifying: masked even to the party holding it (no contract says full)
        assert ext["joinedOn"] is not None and ext["joinedOn"] != f"{joined[:4]}-{joined[4:6]}-"
        assert ext["joinedOn"] != f"{joined[:4]}-{joined[4:6]}-{joined[6:]}"


@LOOP
async def test_another_party_reads_only_what_the_contract_grants(served: tuple[Any, str]) -> None:
    body = await _ask(served, "wenjiang", """{ members(first: 10) { nodes {
        extensions { partyDuty joinedOn } } } }""")
    assert "errors" not in body, body
    got = sorted((n["extensions"]["partyDuty"] or "", n["extensions"]["joinedOn"])
                 for n in body["data"]["members"]["nodes"])
    assert got == sorted((p[2], p[4][:4]) for p in _people())  # full, and by year
    refused = await _ask(served, "wenjiang",
                         "{ members(first: 10) { nodes { extensions { hardship } } } }")
    assert refused["data"] is None
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["CONTRACT_DENIED"]
    assert "MemberExtensions.hardship" in refused["errors"][0]["message"]


@LOOP
async def test_the_core_schema_has_no_extensions_field(served: tuple[Any, str]) -> None:
    from hub.api.schema import print_sdl

    assert "MemberExtensions" not in print_sdl()  # the cached core schema was not touched


def test_undeclared_and_misdeclared_extensions_are_config_errors(tmp_path: Path) -> None:
    trust = build_demo_trust(tmp_path / "trust", PARTIES)
    bad = """
[extensions.member.party_duty]
type = "text"
[extensions.member.name]
type = "string"
label = "姓名"
[extensions.organization.x]
type = "string"
label = "x"
"""
    config = _config(tmp_path, trust, trust.registry_path, extensions=bad)
    with pytest.raises(ConfigError) as info:
        load_settings(config, env={})
    said = str(info.value)
    for expected in ("[extensions.member.party_duty].type must be one of",
                     "[extensions.member.party_duty].label is required",
                     "'name' is a canonical member field",
                     "[extensions.organization]: only member fields can be extended",
                     "extensions.hardship: 'hardship' is not declared"):
        assert expected in said, (expected, said)


@LOOP
async def test_without_contracts_masked_and_identifying_fields_leave_masked(
        served: tuple[Any, str]) -> None:
    """The same deployment served without [trust] (development mode: the masking policy)."""
    import uvicorn

    from hub.app import create_app

    (base, _, config), _ = served
    text = config.read_text(encoding="utf-8")
    open_config = base / "open.toml"
    open_config.write_text(text[:text.index("[trust]")] + EXTENSIONS,
                           encoding="utf-8")
    app = create_app(load_settings(open_config, env={}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": """{ members(first: 10) {
                nodes { name extensions { partyDuty hardship joinedOn } } } }"""})
        body = response.json()
    finally:
        server.should_exit = True
        await task
    assert "errors" not in body, body
    people = {p[1]: p for p in _people()}
    for node in body["data"]["members"]["nodes"]:
        ext, (_, _, duty, _, joined) = node["extensions"], people[node["name"]]
        assert ext["partyDuty"] == (duty or None)   # ordinary: as it is
        assert ext["hardship"] is None              # masked: a yes/no has no masked form
        assert ext["joinedOn"] and ext["joinedOn"] != f"{joined[:4]}-{joined[4:6]}-{joined[6:]}"
