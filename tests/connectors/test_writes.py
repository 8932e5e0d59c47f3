"""Connector.write against real systems: the simulated Chengdu platform over HTTP, an SQL
table (SQLite, and PostgreSQL when YANXING_TEST_DATABASE_URL is set), CSV and XLSX files.
Each write is idempotent by its key, and each failure is the error class that tells the
outbox whether to retry."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.base import Capability, WriteRequest
from connectors.errors import (
    ConnectorConfigError,
    NotSupported,
    SourceInvalid,
    SourceRejected,
    SourceUnavailable,
)
from connectors.factory import open_connector
from connectors.mapping import load_mapping, parse_mapping
from hub.demo.generator import generate_world
from hub.demo.systems.chengdu import ChengduPlatform
from hub.demo.world import MAPPINGS_DIR

TOKEN = "write-test-token"
RECORDED = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)


def checkin(key: str = "yanxing-k1", **extra: Any) -> WriteRequest:
    values = {"entry_id": "7", "member_local_id": "CD000001", "member_key": "mk1",
              "organization": "510115-YQ-01", "recorded_at": RECORDED.isoformat(),
              "payload.note": "到社区报到", **extra}
    return WriteRequest("checkin", key, values)


@pytest.fixture
async def chengdu():
    async with ChengduPlatform(generate_world(20, 3), token=TOKEN) as platform:
        yield platform


def chengdu_connector(platform: ChengduPlatform):
    mapping = load_mapping(MAPPINGS_DIR / "chengdu.toml",
                           env={"CHENGDU_URL": platform.url, "CHENGDU_TOKEN": TOKEN})
    return open_connector(mapping)


# ---- REST ------------------------------------------------------------------------------------


async def test_rest_write_arrives_once_with_its_key(chengdu: ChengduPlatform) -> None:
    async with chengdu_connector(chengdu) as connector:
        assert Capability.WRITE in connector.capabilities
        assert connector.write_actions == frozenset({"checkin"})
        first = await connector.write(checkin())
        again = await connector.write(checkin())
    assert (first.remote_id, first.duplicate) == ("CK000001", False)
    assert (again.remote_id, again.duplicate) == ("CK000001", True)
    assert chengdu.write_keys == ["yanxing-k1", "yanxing-k1"]
    assert len(chengdu.checkins) == 1
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{chengdu.url}/api/v1/checkins",
                            headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            items = (await response.json())["data"]["items"]
    assert items == [{
        "checkinId": "CK000001", "memberId": "CD000001", "hubMemberKey": "mk1",
        "orgCode": "510115-YQ-01", "checkinTime": "2026-12-06T02:30:00+0000",
        "remark": "到社区报到", "hubEntryId": "7", "receivedAt": items[0]["receivedAt"],
    }]


async def test_rest_refusal_is_final_with_the_platforms_text_digits_masked(
        chengdu: ChengduPlatform) -> None:
    chengdu.reject_writes = "成员 13812345678 不在本平台"
    async with chengdu_connector(chengdu) as connector:
        with pytest.raises(SourceRejected) as caught:
            await connector.write(checkin())
    detail = caught.value.public_detail or ""
    assert detail.startswith("POST /api/v1/checkins: HTTP 422: 成员 13")
    assert "13812345678" not in detail and "不在本平台" in detail


async def test_rest_same_key_other_body_is_refused(chengdu: ChengduPlatform) -> None:
    async with chengdu_connector(chengdu) as connector:
        await connector.write(checkin())
        with pytest.raises(SourceRejected, match="HTTP 422"):
            await connector.write(checkin(**{"payload.note": "另一条"}))
    assert len(chengdu.checkins) == 1


async def test_rest_down_and_busy_are_retryable(chengdu: ChengduPlatform) -> None:
    async with chengdu_connector(chengdu) as connector:
        chengdu.fail_rate = 1.0
        with pytest.raises(SourceUnavailable, match="HTTP 503"):
            await connector.write(checkin())
        chengdu.fail_rate = 0.0
        await chengdu.stop()
        with pytest.raises(SourceUnavailable):
            await connector.write(checkin())
    assert chengdu.checkins == []


async def test_rest_bad_credentials_are_final(chengdu: ChengduPlatform) -> None:
    mapping = load_mapping(MAPPINGS_DIR / "chengdu.toml",
                           env={"CHENGDU_URL": chengdu.url, "CHENGDU_TOKEN": "wrong"})
    async with open_connector(mapping) as connector:
        with pytest.raises(SourceRejected, match="HTTP 401"):
            await connector.write(checkin())


async def test_an_action_without_a_write_table_is_not_supported(
        chengdu: ChengduPlatform) -> None:
    async with chengdu_connector(chengdu) as connector:
        with pytest.raises(NotSupported, match=r"\[write.report\]"):
            await connector.write(WriteRequest("report", "k", {}))


def test_a_mapping_without_writes_declares_no_write() -> None:
    mapping = load_mapping(MAPPINGS_DIR / "zhejiang.toml", env={"ZHEJIANG_APP_SECRET": "s"})
    connector = open_connector(mapping)
    assert Capability.WRITE not in connector.capabilities
    assert connector.write_actions == frozenset()


# ---- mapping validation ------------------------------------------------------------------------


def _rest(write: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": {"name": "p", "kind": "rest", "side": "destination"},
        "connection": {"base_url": "http://127.0.0.1:1"},
        "entities": {"member": {"path": "/m", "local_id": "id", "fields": {"name": "n"},
                                "by_keys": {"param": "ids"}}},
        "write": write,
    }


@pytest.mark.parametrize(("write", "problem"), [
    ({"checkin": {"fields": {"entry_id": "x"}}}, "a rest write needs path"),
    ({"checkin": {"path": "/c", "table": "t", "fields": {"entry_id": "x"}}},
     "$.write.checkin.table: not used by a rest write"),
    ({"checkin": {"path": "/c", "fields": {"id_number": "x"}}},
     "'id_number' is not a value a write carries"),
    ({"checkin": {"path": "/c", "fields": {"entry_id": "x", "member_key": "x"}}},
     "column 'x' is written by 'entry_id' too"),
    ({"checkin": {"path": "/c", "fields": {}}}, "should be non-empty"),
    ({"checkin": {"path": "c", "fields": {"entry_id": "x"}}}, "does not match"),
    ({"check-in": {"path": "/c", "fields": {"entry_id": "x"}}}, "does not match"),
    ({"checkin": {"path": "/c", "method": "DELETE", "fields": {"entry_id": "x"}}},
     "is not one of"),
    ({"checkin": {"path": "/c", "fields": {"recorded_at": {"column": "t", "format": "%Q"}}}},
     "not a usable strftime format"),
])
def test_bad_write_tables_are_refused(write: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(_rest(write), env={})
    assert problem in str(caught.value)


def test_a_ledger_never_writes_into_the_ledger_it_reads(tmp_path: Path) -> None:
    doc = {
        "source": {"name": "v", "kind": "ledger", "side": "origin"},
        "connection": {"file": "village.xlsx"},
        "entities": {"member": {"local_id": "编号", "fields": {"name": "姓名"}}},
        "write": {"checkin": {"file": "village.xlsx", "key_column": "键", "encoding": "gbk",
                              "fields": {"entry_id": "条目"}}},
    }
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(doc, env={})
    assert "never to the ledger it reads" in str(caught.value)
    assert "only CSV files have an encoding" in str(caught.value)


# ---- SQL ---------------------------------------------------------------------------------------


def _sql(url: str) -> dict[str, Any]:
    return {
        "source": {"name": "county", "kind": "sql", "side": "origin"},
        "connection": {"url": url},
        "entities": {"member": {"path": "ld_dy", "local_id": "dyid", "fields": {"name": "xm"}}},
        "write": {"checkin": {"table": "dy_bdjl", "key_column": "mdj", "fields": {
            "member_local_id": "dyid", "organization": "bd_zzdm",
            "recorded_at": {"column": "bdsj", "format": "%Y-%m-%d %H:%M:%S"},
            "payload.note": "bz"}}},
    }


async def _county_tables(url: str) -> None:
    engine = create_async_engine(url)
    meta = sa.MetaData()
    sa.Table("ld_dy", meta, sa.Column("dyid", sa.String(20), primary_key=True),
             sa.Column("xm", sa.String(40)))
    sa.Table("dy_bdjl", meta, sa.Column("jlid", sa.Integer, primary_key=True,
                                        autoincrement=True),
             sa.Column("mdj", sa.String(200), nullable=False, unique=True),
             sa.Column("dyid", sa.String(20)), sa.Column("bd_zzdm", sa.String(20),
                                                         nullable=False),
             sa.Column("bdsj", sa.String(25)), sa.Column("bz", sa.String(500)))
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    await engine.dispose()


async def _rows(url: str) -> list[tuple[Any, ...]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT jlid, mdj, dyid, bd_zzdm, bdsj, bz FROM dy_bdjl ORDER BY jlid"))).all()
    await engine.dispose()
    return [tuple(r) for r in rows]


async def test_sql_write_inserts_once(db_url: str) -> None:
    await _county_tables(db_url)
    async with open_connector(parse_mapping(_sql(db_url), env={})) as connector:
        first = await connector.write(checkin())
        again = await connector.write(checkin())
        other = await connector.write(checkin("yanxing-k2", **{"payload.note": None}))
    assert (first.remote_id, first.duplicate) == ("1", False)
    assert (again.remote_id, again.duplicate) == ("1", True)
    assert other.remote_id == "2"
    assert await _rows(db_url) == [
        (1, "yanxing-k1", "CD000001", "510115-YQ-01", "2026-12-06 02:30:00", "到社区报到"),
        (2, "yanxing-k2", "CD000001", "510115-YQ-01", "2026-12-06 02:30:00", None),
    ]


async def test_sql_refusals_are_final(db_url: str) -> None:
    await _county_tables(db_url)
    async with open_connector(parse_mapping(_sql(db_url), env={})) as connector:
        with pytest.raises(SourceRejected, match="refused the row"):
            await connector.write(checkin(organization=None))  # NOT NULL
    doc = _sql(db_url)
    doc["write"]["checkin"]["fields"]["payload.extra"] = "no_such_column"
    async with open_connector(parse_mapping(doc, env={})) as connector:
        with pytest.raises(SourceInvalid, match="no column no_such_column"):
            await connector.write(checkin())
    assert await _rows(db_url) == []


async def test_sql_database_down_is_retryable(tmp_path: Path) -> None:
    # a database server that does not answer (nothing listens on port 1); a missing SQLite
    # file is a configuration mistake instead (ConnectorConfigError, never created empty)
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/county"
    async with open_connector(parse_mapping(_sql(url), env={})) as connector:
        with pytest.raises(SourceUnavailable):
            await connector.write(checkin())


# ---- ledger files ------------------------------------------------------------------------------


def _ledger(write_file: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": {"name": "village", "kind": "ledger", "side": "origin"},
        "connection": {"file": "village.xlsx"},
        "entities": {"member": {"local_id": "编号", "fields": {"name": "姓名"}}},
        "write": {"checkin": {"file": write_file, "key_column": "幂等键", **extra, "fields": {
            "member_local_id": "编号", "organization": "报到党组织编码",
            "recorded_at": {"column": "报到时间", "format": "%Y-%m-%d %H:%M"},
            "payload.note": "备注"}}},
    }


async def test_csv_ledger_write_appends_once(tmp_path: Path) -> None:
    mapping = parse_mapping(_ledger("hub_checkins.csv", encoding="gbk"),
                            path=tmp_path / "village.toml", env={})
    async with open_connector(mapping) as connector:
        first = await connector.write(checkin())
        again = await connector.write(checkin())
        await connector.write(checkin("yanxing-k2"))
    assert (first.remote_id, again.remote_id, again.duplicate) == ("2", "2", True)
    with (tmp_path / "hub_checkins.csv").open(encoding="gbk", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["幂等键", "编号", "报到党组织编码", "报到时间", "备注"],
        ["yanxing-k1", "CD000001", "510115-YQ-01", "2026-12-06 02:30", "到社区报到"],
        ["yanxing-k2", "CD000001", "510115-YQ-01", "2026-12-06 02:30", "到社区报到"],
    ]


async def test_xlsx_ledger_write_appends_once_and_keeps_added_columns(tmp_path: Path) -> None:
    mapping = parse_mapping(_ledger("hub_checkins.xlsx", sheet="报到登记"),
                            path=tmp_path / "village.toml", env={})
    async with open_connector(mapping) as connector:
        await connector.write(checkin())
        # a person adds a column of their own: the hub's next rows still land in the right cells
        book = openpyxl.load_workbook(tmp_path / "hub_checkins.xlsx")
        book["报到登记"].cell(row=1, column=6, value="核实人")
        book.save(tmp_path / "hub_checkins.xlsx")
        await connector.write(checkin("yanxing-k2"))
        again = await connector.write(checkin("yanxing-k2"))
    assert again.duplicate and again.remote_id == "3"
    sheet = openpyxl.load_workbook(tmp_path / "hub_checkins.xlsx")["报到登记"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["幂等键", "编号", "报到党组织编码", "报到时间", "备注", "核实人"],
        ["yanxing-k1", "CD000001", "510115-YQ-01", "2026-12-06 02:30", "到社区报到", None],
        ["yanxing-k2", "CD000001", "510115-YQ-01", "2026-12-06 02:30", "到社区报到", None],
    ]
    assert not _temporary_files(tmp_path)


def _temporary_files(directory: Path) -> list[Path]:
    return list(directory.glob("tmp*.xlsx"))


async def test_ledger_file_missing_a_column_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hub_checkins.csv").write_text("幂等键,编号\n", encoding="utf-8-sig")
    mapping = parse_mapping(_ledger("hub_checkins.csv"), path=tmp_path / "v.toml", env={})
    async with open_connector(mapping) as connector:
        with pytest.raises(SourceInvalid, match="no column 报到党组织编码, 报到时间, 备注"):
            await connector.write(checkin())
    assert (tmp_path / "hub_checkins.csv").read_text(encoding="utf-8-sig") == "幂等键,编号\n"


def test_demo_mappings_load_with_their_writes() -> None:
    env = {"CHENGDU_TOKEN": "t", "ZHEJIANG_APP_SECRET": "s"}
    writes = {name: sorted(load_mapping(MAPPINGS_DIR / f"{name}.toml", env=env).writes)
              for name in ("chengdu", "county", "village_ledger", "zhejiang")}
    assert writes == {"chengdu": ["checkin"], "county": ["checkin"],
                      "village_ledger": ["checkin"], "zhejiang": []}
    assert json.loads((Path(__file__).parents[2] / "schema" / "mapping.schema.json")
                      .read_text(encoding="utf-8"))["properties"]["write"]
