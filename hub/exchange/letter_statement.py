"""What a letter says about the year, filled from what the hub holds: attendance and points.

The two readers are the one place a letter learns the year's figures, so when the
organisation-life and points workflows (issue 8, workflows 3 and 4; hub/exchange modules of
their own) add their tables, only these functions change:

- `attendance_of_year`: today the index's `attendance` rows (synced from the systems of
  record) of activities that started in the year, counted per mode (present / online /
  excused / absent / by report); every activity with a record for the member counts as one
  expected. Point it at the organisation-life ledger when that exists.
- `points_of_year`: the member's points of the year from the points ledger
  (hub.exchange.tables.PointRow, workflow 3: confirmed tasks and volunteer hours).

Absence reports (workflow 2, `hub.exchange.reports.absences_by_report`) are not counted as
"by report" yet: that reader opens its own session, which a letter's write transaction
cannot wait for on SQLite; a variant taking the connection is the way to add them.

Both run on the connection of the letter's own ledger transaction, so a letter's figures are
those of the moment it was drafted.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.exchange.letter_document import LetterAttendance
from hub.exchange.tables import PointRow
from hub.store.models import ActivityRow, AttendanceRow

__all__ = ["attendance_of_year", "points_of_year"]
_MODES = {"present": "present", "online": "online", "excused": "excused", "absent": "absent",
          "by_report": "by_report", "report": "by_report"}


async def attendance_of_year(conn: AsyncConnection, member_key: str,
                             year: int) -> LetterAttendance:
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    rows = (await conn.execute(
        select(AttendanceRow.mode, func.count())
        .join(ActivityRow, ActivityRow.key == AttendanceRow.activity_key)
        .where(AttendanceRow.member_key == member_key, ActivityRow.start_time >= start,
               ActivityRow.start_time < end)
        .group_by(AttendanceRow.mode))).all()
    counts = {"present": 0, "online": 0, "excused": 0, "absent": 0, "by_report": 0}
    total = 0
    for mode, n in rows:
        total += int(n)
        key = _MODES.get(str(mode or "absent"), "absent")
        counts[key] += int(n)
    return LetterAttendance(activities=total, **counts)


async def points_of_year(conn: AsyncConnection, member_key: str, year: int) -> int:
    total = (await conn.execute(select(func.coalesce(func.sum(PointRow.points), 0)).where(
        PointRow.member_key == member_key, PointRow.year == year))).scalar_one()
    return int(total)
