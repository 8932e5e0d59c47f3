"""SQL connector against a real SQLite file (a county 流动党员信息库), built here with sqlite3,
and the same conformance suite against every database of the `db_url` fixture (SQLite, and
PostgreSQL when YANXING_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.base import Connector, PartialDate, ReadRequest
from connectors.errors import SourceInvalid, SourceUnavailable
from connectors.mapping import parse_mapping
from connectors.sql import SqlConnector
from connectors.testing import CaseConfig, connector_test_class, make_id_number, read_all

ROWS = [
    (i, f"成员{i}", "1" if i % 2 else "2", make_id_number("511502", "19900101", i), "19900101",
     "叙州区", f"2024-05-{i:02d} 10:00:00")
    for i in range(1, 8)
] + [(8, "坏行", "9", "123", "19901301", "叙州区", "2024-05-08 10:00:00")]


def sql_mapping(url: str, table: str = "dangyuan", **entity: Any) -> dict[str, Any]:
    return {
        "source": {
            "name": "xuzhou",
            "kind": "sql",
            "title": "叙州区流动党员信息库",
            "side": "origin",
        },
        "connection": {"url": url},
        "entities": {
            "member": {
                "path": table,
                "local_id": "id",
                "required": ["id_number"],
                "fields": {
                    "name": "xm",
                    "gender": {"column": "xb", "codes": {"1": "male", "2": "female"}},
                    "id_number": "sfzh",
                    "birth_date": {"column": "csrq", "formats": ["%Y%m%d"]},
                    "origin_region_code": "hjd",
                    "updated_at": "gxsj",
                },
                **entity,
            }
        },
    }


def make_db(path: Path, rows: list[tuple[Any, ...]] = ROWS) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE dangyuan (id INTEGER PRIMARY KEY, xm TEXT, xb TEXT, sfzh TEXT, "
            "csrq TEXT, hjd TEXT, gxsj TEXT)"
        )
        db.executemany("INSERT INTO dangyuan VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("CREATE VIEW v_women AS SELECT * FROM dangyuan WHERE xb = '2'")


async def open_sqlite(tmp_path: Path) -> SqlConnector:
    make_db(tmp_path / "county.db")
    # relative SQLite paths resolve against the mapping file's folder
    return SqlConnector(
        parse_mapping(sql_mapping("sqlite+aiosqlite:///county.db"), path=tmp_path / "m.toml")
    )


async def open_missing_table(tmp_path: Path) -> SqlConnector:
    make_db(tmp_path / "county.db")
    return SqlConnector(
        parse_mapping(
            sql_mapping("sqlite+aiosqlite:///county.db", "nope"), path=tmp_path / "m.toml"
        )
    )


TestSqliteConformance = connector_test_class(
    open_sqlite, expected_count=8, expect_issues=True, page_size=3, bad_factory=open_missing_table,
    name="TestSqliteConformance",
)


_COUNTY = sa.MetaData()
_DANGYUAN = sa.Table(
    "dangyuan", _COUNTY, sa.Column("id", sa.Integer, primary_key=True),
    *(sa.Column(name, sa.Text) for name in ("xm", "xb", "sfzh", "csrq", "hjd", "gxsj")),
)


async def open_on(db_url: str) -> SqlConnector:
    """The county table of ROWS created through SQLAlchemy on `db_url`, and a connector on it."""
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_COUNTY.create_all)
            await conn.execute(
                _DANGYUAN.insert(), [dict(zip(_DANGYUAN.c.keys(), row)) for row in ROWS]
            )
    finally:
        await engine.dispose()
    return SqlConnector(parse_mapping(sql_mapping(db_url)))


@pytest.mark.store
# connector_test_class builds the base class at import time, which mypy cannot follow
class TestDatabaseConformance(connector_test_class(  # type: ignore[misc]
    open_sqlite, expected_count=8, expect_issues=True, page_size=3, bad_factory=open_missing_table,
    name="DatabaseConformance",
)):
    """The standard suite on each `db_url` backend; only the `connector` fixture differs."""

    @pytest.fixture
    async def connector(self, db_url: str) -> AsyncIterator[Connector]:
        async with await open_on(db_url) as opened:
            yield opened


async def test_values_and_issues(tmp_path: Path) -> None:
    async with await open_sqlite(tmp_path) as db:
        result = await db.read(ReadRequest("member", keys=["1", "8", "x", "99"]))
    one, bad, not_int, absent = result.records
    assert not_int is None and absent is None
    assert one is not None and one.values["gender"] == "male"
    assert (
        one.values["birth_date"] == PartialDate(1990, 1, 1)
        and one.values["origin_region_code"] == "511502"
    )
    assert one.values["updated_at"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert bad is not None and bad.values["id_number"] is None
    assert {(i.code, i.column, i.local_id) for i in result.issues} == {
        ("UNKNOWN_CODE", "xb", "8"),
        ("INVALID_ID_NUMBER", "sfzh", "8"),
        ("INVALID_DATE", "csrq", "8"),
    }
    assert all(i.location.where == "table dangyuan id=8" for i in result.issues)


async def test_changed_since_filters_in_sql(tmp_path: Path) -> None:
    async with await open_sqlite(tmp_path) as db:
        since = datetime(2024, 5, 5, 10, tzinfo=UTC)
        records, _ = await read_all(db, CaseConfig(page_size=2), since=since)
    assert [r.local_id for r in records] == ["6", "7", "8"]


async def test_view_and_many_keys_chunked(tmp_path: Path) -> None:
    rows = [(i, f"n{i}", "2", make_id_number(sequence=i), None, None, None) for i in range(1, 1201)]
    make_db(tmp_path / "big.db", rows)
    mapping = parse_mapping(sql_mapping(f"sqlite+aiosqlite:///{tmp_path / 'big.db'}", "v_women"))
    async with SqlConnector(mapping) as db:
        keys = [str(i) for i in range(1200, 0, -1)]
        result = await db.read(ReadRequest("member", keys=keys, fields=frozenset({"name"})))
    assert [r.local_id if r else None for r in result.records] == keys
    assert result.records[0] is not None and dict(result.records[0].values) == {"name": "n1200"}


async def test_hostile_key_is_a_bound_parameter(tmp_path: Path) -> None:
    mapping = sql_mapping("sqlite+aiosqlite:///county.db")
    mapping["entities"]["member"]["local_id"] = "sfzh"  # a text id column
    make_db(tmp_path / "county.db")
    async with SqlConnector(parse_mapping(mapping, path=tmp_path / "m.toml")) as db:
        result = await db.read(
            ReadRequest("member", keys=["x') OR 1=1 --", make_id_number("511502", "19900101", 3)])
        )
        assert result.records[0] is None and result.records[1] is not None
        records, _ = await read_all(db, CaseConfig(page_size=3))
    assert len(records) == 8


async def test_missing_mapped_column_is_reported(tmp_path: Path) -> None:
    mapping = sql_mapping("sqlite+aiosqlite:///county.db")
    mapping["entities"]["member"]["fields"]["phone"] = "lxdh"
    make_db(tmp_path / "county.db")
    async with SqlConnector(parse_mapping(mapping, path=tmp_path / "m.toml")) as db:
        result = await db.read(ReadRequest("member", page_size=100))
    assert [(i.code, i.column) for i in result.issues if i.code == "MISSING_COLUMN"] == [
        ("MISSING_COLUMN", "lxdh")
    ]
    assert all(r and r.values["phone"] is None for r in result.records)


async def test_unreachable_database(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mapping = parse_mapping(sql_mapping(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test"))
    async with SqlConnector(mapping) as db:
        with pytest.raises(SourceUnavailable):
            await db.read(ReadRequest("member"))


async def test_missing_table(tmp_path: Path) -> None:
    async with await open_missing_table(tmp_path) as db:
        with pytest.raises(SourceInvalid, match="nope"):
            await db.read(ReadRequest("member"))


def test_password_in_url_is_masked() -> None:
    mapping = parse_mapping(
        sql_mapping("${DB_URL}"), env={"DB_URL": "postgresql+asyncpg://u:s3cret@127.0.0.1/x"}
    )
    assert "s3cret" not in repr(mapping.connection) and "s3cret" not in str(
        mapping.connection["url"]
    )
