"""The upsert's driver path stores exactly what SQLAlchemy's own parameter processing stores.

`hub.store.upsert` prepares values itself (JSON text, SQLite's datetime text, UTC for asyncpg)
and hands the rows to the driver. The same rows are written both ways, into two sources, and
compared column by column as the database holds them (raw SQL, no type processing) and as the
ORM reads them back; then the rows are upserted again (the ON CONFLICT path, with its
`member_key` expression) and compared again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.federation.ingest import _keep_confirmed
from hub.store.models import MemberRow, SourceLinkRow
from hub.store.upsert import _PLANS, _sqlite_datetime, _sqlite_datetime_column, upsert

pytestmark = pytest.mark.store

NOW = datetime(2024, 5, 1, 8, 30, 0, tzinfo=UTC)
EAST = timezone(timedelta(hours=8))


def _members(tag: str) -> list[dict[str, Any]]:
    return [
        {"key": f"{tag}{i:03d}" + "k" * 60, "name": "张三" if i % 2 else None,
         "birth_date": date(1990, 1, 1 + i) if i % 3 else None, "phone_hash": None,
         "status": "正式党员", "origin_org_id": "o1", "origin_region_code": "510105",
         "destination_region_code": None, "destination_org_id": None,
         # aware in another zone, aware UTC with and without microseconds, naive, None
         "updated_at": [datetime(2024, 3, 1, 18, 0, 0, 123456, tzinfo=EAST), NOW,
                        datetime(2024, 3, 1, 10, 0), None][i % 4],
         "indexed_at": NOW}
        for i in range(6)
    ]


def _links(source: str, keys: list[str]) -> list[dict[str, Any]]:
    auxiliary = ["phone", "phone_hash"]  # one list shared by every row, as a sync builds them
    return [
        {"source": source, "entity": "member", "local_id": str(i),
         "member_key": keys[i] if i % 3 else None,
         "fields": ["name", "phone"] if i % 2 else [],
         "routing": {"name": "李四", "birth_date": "1990-01", "status": None} if i % 2 else {},
         "content_hash": "h" * 64, "fetched_at": NOW,
         "source_updated_at": [datetime(2024, 3, 1, 18, 0, tzinfo=EAST), None][i % 2],
         "match_name": "李四" if i % 2 else None,
         "match_birth_date": date(1990, 1, 1) if i % 2 else None,
         "match_phone_hash": None, "side": "origin",
         "auxiliary": auxiliary if i % 2 else None,
         "extensions": {"党费": 12.5, "since": "2020-01"} if i == 3 else None}
        for i in range(len(keys))
    ]


async def _write(session: AsyncSession, tag: str, *, driver: bool) -> None:
    members = _members(tag)
    await upsert(session, MemberRow, members, key=["key"], driver=driver)
    links = _links(f"src-{tag}", [m["key"] for m in members])
    await upsert(
        session, SourceLinkRow, links, key=["source", "entity", "local_id"],
        update=[c for c in links[0] if c not in ("source", "entity", "local_id", "member_key")],
        expressions={"member_key": _keep_confirmed}, driver=driver,
    )


async def _stored(session: AsyncSession, table: str, where: str) -> list[tuple[Any, ...]]:
    """The rows as the database holds them, the tag removed from keys and sources."""
    order = "key" if table == "members" else "local_id"
    result = await session.execute(text(f"SELECT * FROM {table} WHERE {where} ORDER BY {order}"))
    rows = []
    for row in result.all():
        values = [v.replace("src-a", "src").replace("src-b", "src") if isinstance(v, str) else v
                  for v in row]
        rows.append(tuple(v[1:] if isinstance(v, str) and len(v) == 64 and v[0] in "ab"
                          else v for v in values))
    return rows


@pytest.mark.parametrize("rewrite", [False, True])
async def test_driver_path_stores_what_sqlalchemy_stores(
    session_factory: async_sessionmaker[AsyncSession], rewrite: bool,
) -> None:
    for _ in range(2 if rewrite else 1):  # the second round takes the ON CONFLICT path
        async with session_factory() as session, session.begin():
            await _write(session, "a", driver=False)
            await _write(session, "b", driver=True)
    async with session_factory() as session:
        for table, column in (("members", "key"), ("source_links", "source")):
            via_sqlalchemy = await _stored(session, table, f"{column} LIKE '%a%'")
            via_driver = await _stored(session, table, f"{column} LIKE '%b%'")
            assert len(via_driver) == 6
            if table == "source_links":  # the ids differ: one source was written first
                via_sqlalchemy = [r[1:] for r in via_sqlalchemy]
                via_driver = [r[1:] for r in via_driver]
            assert via_driver == via_sqlalchemy
        links = {(r.source, r.local_id): r for r in (await session.execute(
            select(SourceLinkRow))).scalars()}
        for local_id in map(str, range(6)):
            a, b = links["src-a", local_id], links["src-b", local_id]
            for column in SourceLinkRow.__table__.columns.keys():
                if column not in ("id", "source", "member_key"):
                    assert getattr(b, column) == getattr(a, column), column
        assert links["src-b", "2"].source_updated_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
        b = links["src-b", "3"]
        assert b.auxiliary == ["phone", "phone_hash"] and b.extensions == {"党费": 12.5,
                                                                           "since": "2020-01"}
        assert links["src-b", "2"].auxiliary is None and links["src-b", "2"].extensions is None
        members = {m.key[0]: m for m in (await session.execute(
            select(MemberRow).where(MemberRow.key.like("_000%")))).scalars()}
        assert members["b"].birth_date is None and members["b"].name is None
        assert members["b"].updated_at == members["a"].updated_at == datetime(
            2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    # the driver path was taken, not SQLAlchemy's fallback (which would compare with itself)
    assert {t for (_, t, *_), plan in _PLANS.items() if plan is not None} >= {
        "members", "source_links"}


def test_a_column_remembers_only_what_gives_the_same_text() -> None:
    """The SQLite datetime preparer converts a page's shared `fetched_at` once; the text is
    `_sqlite_datetime`'s for every value, repeated, equal, aware in any zone, naive or None."""
    prepare = _sqlite_datetime_column()
    east = datetime(2024, 3, 1, 18, 0, 0, 5, tzinfo=EAST)
    values = [NOW, NOW, east, east, NOW, datetime(2024, 5, 1, 8, 30, tzinfo=UTC), None, None,
              datetime(2024, 3, 1, 10, 0), date(2024, 3, 1), NOW, east.astimezone(UTC), east]
    assert [prepare(v) for v in values] == [_sqlite_datetime(v) for v in values]
    assert _sqlite_datetime(east) == "2024-03-01 10:00:00.000005"
