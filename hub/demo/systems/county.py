"""叙州区流动党员信息库: the county's own database of its floating members (origin side).

Plain SQL tables with pinyin-initial column names, as county systems are built (xm 姓名,
xb 性别 with GB/T 2261.1 codes 1/2, sfzh 身份证号, csrq 出生日期 as '1988-03-07' text...),
plus a view `v_ld_dy` that joins each member to the name of their organisation, which is what
the hub reads, and `dy_bdjl`, where the hub writes check-ins back (unique by 幂等键 mdj).
The same DDL loads in SQLite and PostgreSQL (`create_county_db` takes any async SQLAlchemy
URL). It also lists the county's organisations, including its floating-member
branches in other cities, and the organisation life of the branches it runs itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from hub.demo._idcard import corrupt_check_char
from hub.demo.generator import World
from hub.demo.model import Defect, SystemMember

__all__ = ["SYSTEM", "metadata", "create_county_db", "member_row", "MEMBER_VIEW"]

SYSTEM = "county"
MEMBER_VIEW = "v_ld_dy"
_BATCH = 1000

metadata = MetaData()

zz_dzz = Table(  # 党组织
    "zz_dzz", metadata,
    Column("zzdm", String(20), primary_key=True),      # 组织代码
    Column("zzmc", String(100), nullable=False),       # 组织名称
    Column("zzlx", String(20), nullable=False),        # 组织类型
    Column("xzqh_dm", String(6)),                      # 行政区划代码
    Column("sjzz_dm", String(20)),                     # 上级组织代码
    Column("sj_xm", String(20)),                       # 书记姓名
    Column("sj_lxdh", String(20)),                     # 书记联系电话
    Column("gxsj", DateTime()),                        # 更新时间 (UTC)
)

ld_dy = Table(  # 流动党员
    "ld_dy", metadata,
    Column("dyid", String(20), primary_key=True),
    Column("xm", String(40)),                          # 姓名
    Column("xb", String(2)),                           # 性别 GB/T 2261.1: 1 男 2 女
    Column("sfzh", String(18)),                        # 身份证号
    Column("csrq", String(10)),                        # 出生日期 yyyy-mm-dd
    Column("lxdh", String(20)),                        # 联系电话
    Column("lxzt", String(10)),                        # 联系状态
    Column("zzdm", String(20)),                        # 组织关系所在党组织
    Column("hjd_xzqh", String(6)),                     # 户籍地区划
    Column("lrd_xzqh", String(6)),                     # 流入地区划
    Column("lrd_zzdm", String(20)),                    # 流入地党组织
    Column("xjzd", String(200)),                       # 现居住地
    Column("gzdw", String(200)),                       # 工作单位
    Column("cszy", String(40)),                        # 从事职业
    Column("wcsj", String(10)),                        # 外出时间 yyyy-mm-dd
    Column("fxcy", String(2)),                         # 返乡创业意愿 是/否
    Column("dcgb", Integer),                           # 担任村干部意愿 1/0
    Column("gxsj", DateTime()),                        # 更新时间 (UTC)
)

hd_zzsh = Table(  # 组织生活 (activities)
    "hd_zzsh", metadata,
    Column("hdid", String(40), primary_key=True),
    Column("zzdm", String(20)),
    Column("hdlx", String(20)),                        # 活动类型 (Chinese)
    Column("hdzt", String(200)),                       # 活动主题
    Column("kssj", DateTime()),                        # 开始时间 (UTC)
    Column("sfxs", Integer),                           # 是否线上 1/0
    Column("ydrs", Integer),                           # 应到人数
    Column("sdrs", Integer),                           # 实到人数
    Column("qjrs", Integer),                           # 请假人数
    Column("xsrs", Integer),                           # 线上人数
    Column("lxrs", Integer),                           # 列席人数
    Column("gxsj", DateTime()),
)

hd_cyjl = Table(  # 参与记录 (attendance)
    "hd_cyjl", metadata,
    Column("jlid", String(80), primary_key=True),
    Column("hdid", String(40)),
    Column("sfzh", String(18)),
    Column("cyfs", String(10)),                        # 出席 / 线上 / 请假 / 缺席
)

_VIEW_SQL = f"""
CREATE VIEW {MEMBER_VIEW} AS
SELECT d.dyid, d.xm, d.xb, d.sfzh, d.csrq, d.lxdh, d.lxzt, d.zzdm, z.zzmc, d.hjd_xzqh,
       d.lrd_xzqh, d.lrd_zzdm, d.xjzd, d.gzdw, d.cszy, d.wcsj, d.fxcy, d.dcgb, d.gxsj
FROM ld_dy d LEFT JOIN zz_dzz z ON z.zzdm = d.zzdm
"""

_STATUS = {"in_contact": "正常联系", "lost_contact": "失联", "returned": "已返乡",
           "transferred_out": "已转出"}
_ORG_TYPE = {"committee": "党委", "origin_branch": "流出地党支部",
             "floating_branch": "流动党员党支部", "destination_branch": "流入地党支部"}
_ACTIVITY_TYPE = {
    "branch_member_meeting": "支部党员大会", "branch_committee_meeting": "支委会",
    "party_group_meeting": "党小组会", "party_lecture": "党课", "themed_party_day": "主题党日",
    "organization_life_meeting": "组织生活会", "democratic_review": "民主评议",
    "volunteer_service": "志愿服务", "training": "培训",
}
_MODE = {"present": "出席", "online": "线上", "excused": "请假", "absent": "缺席"}


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def member_row(m: SystemMember) -> dict[str, Any]:
    """A member as the county database stores it, with the row's planted defect applied."""
    p = m.person
    row: dict[str, Any] = {
        "dyid": m.local_id,
        "xm": p.name,
        "xb": "1" if p.gender == "male" else "2",
        "sfzh": p.id_number,
        "csrq": p.birth_date.isoformat(),
        "lxdh": p.origin_phone,
        "lxzt": _STATUS[p.status],
        "zzdm": p.origin_org_id,
        "hjd_xzqh": p.origin_region_code,
        "lrd_xzqh": p.destination_region_code,
        "lrd_zzdm": p.destination_org_id,
        "xjzd": p.origin_address,
        "gzdw": p.origin_employer,
        "cszy": p.occupation,
        "wcsj": p.destination_since.isoformat(),
        "fxcy": "是" if p.intends_return_business else "否",
        "dcgb": int(p.willing_village_cadre),
        "gxsj": _naive_utc(p.origin_updated_at),
    }
    if m.defect is Defect.INVALID_ID_NUMBER:
        row["sfzh"] = corrupt_check_char(p.id_number)
    elif m.defect is Defect.INVALID_DATE:
        row["csrq"] = f"{p.birth_date.year}-02-30"
    elif m.defect is Defect.UNKNOWN_CODE:
        row["xb"] = "9"  # GB/T 2261.1 "未说明的性别": valid there, unknown to the hub
    elif m.defect is Defect.MISSING_VALUE:
        row["xm"] = None
    return row


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


dy_bdjl = Table(  # 党员报到记录: check-ins the hub writes back (write-back, [write.checkin])
    "dy_bdjl", metadata,
    Column("jlid", Integer, primary_key=True, autoincrement=True),
    Column("mdj", String(200), nullable=False, unique=True),  # 幂等键 (the hub's key)
    Column("dyid", String(20)),                        # 党员编号 (this database's id)
    Column("hub_cyj", String(64)),                     # 枢纽成员键 (the hub's member key)
    Column("bd_zzdm", String(20), nullable=False),     # 报到党组织代码
    Column("bdsj", String(25)),                        # 报到时间 yyyy-mm-dd hh:mm:ss (北京时间)
    Column("bz", String(500)),                         # 备注
    Column("hub_tmid", String(64)),                    # 枢纽台账条目号
)


async def _insert(conn: AsyncConnection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    for batch in _batches(rows):
        await conn.execute(table.insert(), batch)
        count += len(batch)
    return count


async def create_county_db(url: str, world: World) -> dict[str, int]:
    """(Re)create the county's tables and view at `url` and fill them; returns row counts.

    Works with `sqlite+aiosqlite:///path.db` and `postgresql+asyncpg://...`. Existing demo
    tables are dropped first, so calling it twice gives the same database.
    """
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP VIEW IF EXISTS {MEMBER_VIEW}"))
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
            await conn.execute(text(_VIEW_SQL))
            counts = {
                "zz_dzz": await _insert(conn, zz_dzz, (
                    {"zzdm": o.org_id, "zzmc": o.name, "zzlx": _ORG_TYPE[o.kind],
                     "xzqh_dm": o.region_code, "sjzz_dm": o.parent_id, "sj_xm": o.secretary,
                     "sj_lxdh": o.contact_phone, "gxsj": _naive_utc(o.updated_at)}
                    for o in world.organizations(SYSTEM))),
                "ld_dy": await _insert(conn, ld_dy, (member_row(m)
                                                     for m in world.members_in(SYSTEM))),
                "hd_zzsh": await _insert(conn, hd_zzsh, (
                    {"hdid": a.local_id, "zzdm": a.org_id, "hdlx": _ACTIVITY_TYPE[a.kind],
                     "hdzt": a.title, "kssj": _naive_utc(a.start_time), "sfxs": int(a.online),
                     "ydrs": a.expected, "sdrs": a.present, "qjrs": a.excused,
                     "xsrs": a.online_count, "lxrs": a.guests, "gxsj": _naive_utc(a.updated_at)}
                    for a in world.activities(SYSTEM))),
                "hd_cyjl": await _insert(conn, hd_cyjl, (
                    {"jlid": r.local_id, "hdid": r.activity_id, "sfzh": r.id_number,
                     "cyfs": _MODE[r.mode]}
                    for r in world.attendance(SYSTEM))),
            }
    finally:
        await engine.dispose()
    return counts
