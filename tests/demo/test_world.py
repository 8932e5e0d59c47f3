"""DemoWorld end to end: the four systems read through the real connectors and their mapping
files report exactly the planted bad rows, and everything stops on exit."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from connectors.base import ReadRequest, Record
from connectors.factory import open_connector
from connectors.mapping import load_mapping
from hub.demo.world import MAPPINGS_DIR, DemoSource, DemoWorld

#: one running world for the module: its tests share the module's event loop
ON_DEMO_LOOP = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoWorld]:
    async with DemoWorld.start(tmp_path_factory.mktemp("demo"), members=600, seed=11) as world:
        yield world


async def _read_all(source: DemoSource, entity: str,
                    overrides: dict | None = None) -> tuple[list[Record], list]:
    mapping = load_mapping(source.mapping_path,
                           overrides={**source.connection_overrides, **(overrides or {})},
                           env=source.env)
    records: list[Record] = []
    issues: list = []
    async with open_connector(mapping) as connector:
        cursor = None
        while True:
            result = await connector.read(ReadRequest(entity, cursor=cursor, page_size=150))
            records += [r for r in result.records if r is not None]
            issues += result.issues
            cursor = result.next_cursor
            if cursor is None:
                return records, issues


@ON_DEMO_LOOP
async def test_sources_describe_the_five_systems(demo: DemoWorld) -> None:
    assert [s.name for s in demo.sources] == ["chengdu", "zhejiang", "village_ledger", "county",
                                              "study"]
    assert {s.side for s in demo.sources} == {"origin", "destination"}
    assert demo.source("chengdu").owner_party_id == "chengdu-rcxf-operator"
    assert demo.source("county").owner_name == "叙州区委组织部"
    for source in demo.sources:
        assert source.mapping_path.parent == MAPPINGS_DIR and source.mapping_path.exists()
        assert "TOKEN" not in str(source.connection_overrides)
        assert "SECRET" not in str(source.connection_overrides)


def test_mapping_files_hold_no_literal_secrets() -> None:
    for path in MAPPINGS_DIR.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.split("=")[0].strip() in ("token", "secret", "key", "client_secret"):
                assert "${" in line, f"{path.name}: {line}"


@ON_DEMO_LOOP
@pytest.mark.parametrize("name", ["chengdu", "zhejiang", "village_ledger", "county"])
async def test_members_read_through_the_mapping_report_exactly_the_bad_rows(
    demo: DemoWorld, name: str
) -> None:
    records, issues = await _read_all(demo.source(name), "member")
    expected = {m.local_id: m for m in demo.world.members_in(name)}
    assert {r.local_id for r in records} == expected.keys()
    planted = {(b.local_id, b.code) for b in demo.world.bad_rows(name)}
    assert {(i.local_id, i.code) for i in issues} == planted
    clean = next(r for r in records if expected[r.local_id].defect is None)
    person = expected[clean.local_id].person
    assert clean.values["id_number"] == person.id_number
    assert clean.values["origin_org_id"] == person.origin_org_id
    assert clean.values["destination_region_code"] == person.destination_region_code
    side_phone = person.phone if name in ("chengdu", "zhejiang") else person.origin_phone
    assert clean.values["phone"] == side_phone


@ON_DEMO_LOOP
async def test_ledger_csv_reads_like_the_xlsx(demo: DemoWorld) -> None:
    source = demo.source("village_ledger")
    xlsx, _ = await _read_all(source, "member")
    as_csv, issues = await _read_all(
        source, "member", {"file": str(demo.ledger.csv), "format": "csv", "encoding": "gbk"})
    assert [r.local_id for r in as_csv] == [r.local_id for r in xlsx]
    assert {(i.local_id, i.code) for i in issues} == {
        (b.local_id, b.code) for b in demo.world.bad_rows("village_ledger")}


@ON_DEMO_LOOP
@pytest.mark.parametrize("name", ["chengdu", "zhejiang", "county"])
async def test_activities_and_attendance_read_through_the_mapping(
    demo: DemoWorld, name: str
) -> None:
    activities, issues = await _read_all(demo.source(name), "activity")
    assert not issues
    assert len(activities) == len(demo.world.activities(name))
    by_id = {a.local_id: a for a in demo.world.activities(name)}
    for record in activities:
        truth = by_id[record.local_id]
        assert (record.values["kind"], record.values["expected"], record.values["present"]) == (
            truth.kind, truth.expected, truth.present)
        assert record.values["start_time"] == truth.start_time
    attendance, issues = await _read_all(demo.source(name), "attendance")
    assert not issues and len(attendance) == sum(a.expected for a in by_id.values())
    organizations, issues = await _read_all(demo.source(name), "organization")
    assert not issues
    assert {o.local_id for o in organizations} == {
        o.org_id for o in demo.world.organizations(name)}


async def test_everything_stops_on_exit(tmp_path: Path) -> None:
    async with DemoWorld.start(tmp_path, members=60, seed=1) as world:
        ports = [world.chengdu.port, world.zhejiang.port]
        assert (tmp_path / "xuzhou_county.db").exists() and world.ledger.xlsx.exists()
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0
