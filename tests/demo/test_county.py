"""The county database: created on SQLite and (with YANXING_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.demo import World
from hub.demo.systems.county import MEMBER_VIEW, create_county_db


async def test_creates_tables_and_view_with_the_world_in_them(db_url: str, world: World) -> None:
    counts = await create_county_db(db_url, world)
    members = list(world.members_in("county"))
    assert counts["ld_dy"] == len(members) > 0
    assert counts["zz_dzz"] == len(world.organizations("county"))
    assert counts["hd_zzsh"] == len(world.activities("county")) > 0
    assert counts["hd_cyjl"] == sum(a.expected for a in world.activities("county"))
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                f"SELECT dyid, sfzh, csrq, zzmc, xb FROM {MEMBER_VIEW} ORDER BY dyid"))).all()
            assert len(rows) == len(members)
            first = next(m for m in members if m.defect is None)
            row = next(r for r in rows if r.dyid == first.local_id)
            assert row.sfzh == first.person.id_number
            assert row.csrq == first.person.birth_date.isoformat()
            assert row.zzmc and row.zzmc.endswith("党支部") and row.xb in ("1", "2")
            floating = (await conn.execute(text(
                "SELECT zzmc FROM zz_dzz WHERE zzlx = '流动党员党支部' ORDER BY zzdm"))).scalars()
            assert list(floating) == ["叙州区驻深圳流动党员党支部", "高场镇驻蓉流动党员党支部"]
    finally:
        await engine.dispose()


async def test_recreating_is_idempotent(db_url: str, world: World) -> None:
    first = await create_county_db(db_url, world)
    assert await create_county_db(db_url, world) == first
