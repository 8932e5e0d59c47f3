"""Statistics for provincial departments (workflow 8): aggregates, never persons.

An observer party (e.g. 四川省委组织部) signs the co-management contracts as `observer`; it may
see no member, but it may ask how the members in those contracts' scope fare: members by status
and region, check-in rates, participation rates and points per organisation and month, and
obligations met or overdue per contract. Any party may ask the same over its own row scope.
The scope comes from the policy (`statistics_scope`) as a condition over `members`, so every
figure counts only members the caller may count.

Every table is made of cells (row, column) with margins (a row's total, a column's total, the
grand total: row or column "*"). Cells counting people go through hub.exchange.suppression:
1..k-1 people are suppressed, and complementary cells with them so no margin gives one back;
rates are suppressed when they would single someone out. Obligation counts are of contract
instances, not people, and are shown as they are.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import ColumnElement

from hub.clock import as_utc
from hub.exchange.ledger import ExchangeEntryRow
from hub.exchange.participation import ATTENDED, with_report
from hub.exchange.reports import absences_by_report
from hub.exchange.schedule import CST, ObligationInstance
from hub.exchange.suppression import TOTAL, rate_suppressed, suppress_table
from hub.exchange.tables import PointRow
from hub.store.models import ActivityRow, AttendanceRow, MemberRow

__all__ = ["Measure", "Dimension", "Cell", "ALL", "CST", "members_by_status", "checkin_rates",
           "participation_rates", "points_by_month", "obligation_counts", "month_of"]

#: the label of a margin (a row's or column's total)
ALL = "*"


class Measure(enum.StrEnum):
    MEMBERS_BY_STATUS = "members_by_status"
    CHECKIN_RATE = "checkin_rate"
    PARTICIPATION_RATE = "participation_rate"
    POINTS = "points"
    OBLIGATIONS = "obligations"


class Dimension(enum.StrEnum):
    """What the rows of `members_by_status` are."""

    ORIGIN_REGION = "origin_region"
    DESTINATION_REGION = "destination_region"
    ORIGIN_ORGANIZATION = "origin_organization"
    DESTINATION_ORGANIZATION = "destination_organization"


_DIMENSION_COLUMN = {
    Dimension.ORIGIN_REGION: MemberRow.origin_region_code,
    Dimension.DESTINATION_REGION: MemberRow.destination_region_code,
    Dimension.ORIGIN_ORGANIZATION: MemberRow.origin_org_id,
    Dimension.DESTINATION_ORGANIZATION: MemberRow.destination_org_id,
}
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Cell:
    """One published figure. `count`: people (or instances) behind it; `value`: the rate
    or the points; both None when suppressed."""

    row: str
    column: str
    count: int | None
    value: float | None
    suppressed: bool

    @property
    def is_total(self) -> bool:
        return self.row == ALL or self.column == ALL


def month_of(moment: datetime) -> str:
    """The month of a time in China time, as 2026-03."""
    return f"{(as_utc(moment) or moment).astimezone(CST):%Y-%m}"


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return (datetime(year, 1, 1, tzinfo=CST), datetime(year + 1, 1, 1, tzinfo=CST))


def _scoped(stmt: Any, scope: ColumnElement[bool] | None) -> Any:
    """`stmt` narrowed to the members in `scope` (rows read back untyped)."""
    return stmt if scope is None else stmt.where(scope)


def _label(value: Hashable) -> str:
    return ALL if value is TOTAL else str(value)


def _table_cells(cells: Mapping[tuple[str, str], int], values: Mapping[tuple[str, str], float]
                 | None, min_count: int) -> list[Cell]:
    """Cells and margins of a table of people counts, suppressed; `values` (e.g. points)
    shown where the count is, summed into the margins."""
    table = suppress_table(cells, min_count)
    sums: dict[tuple[Hashable, Hashable], float] = defaultdict(float)
    if values is not None:
        for (r, c), v in values.items():
            margins: tuple[tuple[Hashable, Hashable], ...] = (
                (r, c), (r, TOTAL), (TOTAL, c), (TOTAL, TOTAL))
            for margin in margins:
                sums[margin] += v
    out = []
    for key in sorted(table.counts, key=lambda k: (k[0] is TOTAL, str(k[0]), k[1] is TOTAL,
                                                     str(k[1]))):
        hidden = key in table.suppressed
        out.append(Cell(_label(key[0]), _label(key[1]),
                        None if hidden else table.counts[key],
                        None if hidden or values is None else sums.get(key, 0.0), hidden))
    return out


async def members_by_status(sessions: async_sessionmaker[AsyncSession],
                            scope: ColumnElement[bool] | None, dimension: Dimension,
                            min_count: int) -> list[Cell]:
    """Members per (region or organisation, status), with margins."""
    column = _DIMENSION_COLUMN[dimension]
    stmt = _scoped(select(column, MemberRow.status), scope)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    async with sessions() as session:
        for row_value, status in (await session.execute(stmt)).all():
            counts[(row_value or UNKNOWN, status or UNKNOWN)] += 1
    return _table_cells(counts, None, min_count)


def _rate_cell(row: str, column: str, attended: int, expected: int, min_count: int) -> Cell:
    if rate_suppressed(attended, expected, min_count):
        return Cell(row, column, None, None, True)
    return Cell(row, column, expected, attended / expected if expected else None, False)


async def checkin_rates(sessions: async_sessionmaker[AsyncSession],
                        scope: ColumnElement[bool] | None, year: int,
                        min_count: int) -> list[Cell]:
    """Per destination organisation and month: the share of the members attached to it
    (today) who checked in with it that month (`count`: the members attached)."""
    start, end = _year_bounds(year)
    attached: dict[str, int] = defaultdict(int)
    checked: dict[tuple[str, str], set[str]] = defaultdict(set)
    members = _scoped(select(MemberRow.destination_org_id).where(
        MemberRow.destination_org_id.is_not(None)), scope)
    entries = _scoped(select(ExchangeEntryRow.organization, ExchangeEntryRow.member_key,
                             ExchangeEntryRow.recorded_at).join(
        MemberRow, MemberRow.key == ExchangeEntryRow.member_key).where(
        ExchangeEntryRow.action == "checkin", ExchangeEntryRow.recorded_at >= start,
        ExchangeEntryRow.recorded_at < end), scope)
    async with sessions() as session:
        for (org,) in (await session.execute(members)).all():
            attached[org] += 1
        for org, key, at in (await session.execute(entries)).all():
            checked[(org, month_of(at))].add(key)
    out = []
    for (org, month), keys in sorted(checked.items()):
        out.append(_rate_cell(org, month, len(keys), attached.get(org, 0), min_count))
    for org in sorted({o for o, _ in checked}):
        every = set().union(*(k for (o, _), k in checked.items() if o == org))
        out.append(_rate_cell(org, ALL, len(every), attached.get(org, 0), min_count))
    return out


async def participation_rates(sessions: async_sessionmaker[AsyncSession],
                              scope: ColumnElement[bool] | None, year: int,
                              min_count: int) -> list[Cell]:
    """Per organiser and month: (present + online + by report) / expected over every
    attendance record of members in scope (synced and ledger-recorded alike, an absence
    reported to the origin counting by report; `count`: the attendance records expected)."""
    start, end = _year_bounds(year)
    stmt = _scoped(select(ActivityRow.org_id, ActivityRow.start_time, AttendanceRow.mode,
                          ActivityRow.key, AttendanceRow.member_key)
                   .join(ActivityRow, ActivityRow.key == AttendanceRow.activity_key)
                   .join(MemberRow, MemberRow.key == AttendanceRow.member_key)
                   .where(ActivityRow.start_time >= start, ActivityRow.start_time < end),
                   scope)
    expected: dict[tuple[str, str], int] = defaultdict(int)
    attended: dict[tuple[str, str], int] = defaultdict(int)
    async with sessions() as session:
        rows = (await session.execute(stmt)).all()
    reported = await absences_by_report(sessions, sorted({r[3] for r in rows}))
    for org, at, mode, activity, member in rows:
        mode = with_report(mode or "", member in reported.get(activity, ()))
        for key in ((org or UNKNOWN, month_of(at)), (org or UNKNOWN, ALL)):
            expected[key] += 1
            attended[key] += mode in ATTENDED
    return [_rate_cell(r, c, attended[(r, c)], n, min_count)
            for (r, c), n in sorted(expected.items(), key=lambda kv: (kv[0][0],
                                                                      kv[0][1] == ALL,
                                                                      kv[0][1]))]


async def points_by_month(sessions: async_sessionmaker[AsyncSession],
                          scope: ColumnElement[bool] | None, year: int,
                          min_count: int) -> list[Cell]:
    """Per awarding organisation and month: members awarded (`count`) and their points
    (`value`), with margins (member-months)."""
    stmt = _scoped(select(PointRow.organization, PointRow.awarded_at, PointRow.member_key,
                          PointRow.points)
                   .join(MemberRow, MemberRow.key == PointRow.member_key)
                   .where(PointRow.year == year), scope)
    people: dict[tuple[str, str], set[str]] = defaultdict(set)
    points: dict[tuple[str, str], float] = defaultdict(float)
    async with sessions() as session:
        for org, at, key, n in (await session.execute(stmt)).all():
            cell = (org, month_of(at))
            people[cell].add(key)
            points[cell] += n
    return _table_cells({k: len(v) for k, v in people.items()}, points, min_count)


def obligation_counts(instances: list[ObligationInstance]) -> list[Cell]:
    """Obligation instances per contract and state, with margins (not people: unsuppressed)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for i in instances:
        for key in ((i.contract_id, i.state.value), (i.contract_id, ALL),
                    (ALL, i.state.value), (ALL, ALL)):
            counts[key] += 1
    return [Cell(r, c, n, None, False)
            for (r, c), n in sorted(counts.items(), key=lambda kv: (kv[0][0] == ALL, kv[0]))]
