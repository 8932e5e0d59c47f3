"""The hub's exchange ledger: actions a party records about a member under a contract.

The first action with a workflow is the check-in (报到): a destination branch records that a
member reported to it. Everything else named in contracts' `record` permissions (attendance,
status reports, tasks, evaluation letters, transfers, reconciliation) will get its own rows
here as its workflow arrives. Rows hold the member *key* (never an ID number) and who
recorded what, when, under which contracts; the permission check is
`ContractPolicy.can_record` (hub.api.types.contracts does it before calling `record_checkin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.store.base import Base

__all__ = ["CheckIn", "CheckInRow", "record_checkin", "checkins_of",
           "MAX_NOTE"]

#: longest note accepted with a check-in, in characters
MAX_NOTE = 500


class CheckInRow(Base):
    __tablename__ = "exchange_checkins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_key: Mapped[str] = mapped_column(String(64), index=True)
    organization: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    party: Mapped[str] = mapped_column(String(64))
    user: Mapped[str | None] = mapped_column(String(128))
    #: space-separated digests of the contracts that granted the permission
    contracts: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class CheckIn:
    id: int
    member_key: str
    organization: str
    note: str | None
    party: str
    user: str | None
    contracts: tuple[str, ...]
    recorded_at: datetime

    @classmethod
    def from_row(cls, row: CheckInRow) -> CheckIn:
        return cls(row.id, row.member_key, row.organization, row.note, row.party, row.user,
                   tuple(row.contracts.split()), row.recorded_at)


async def record_checkin(
    sessions: async_sessionmaker[AsyncSession], *, member_key: str, organization: str,
    note: str | None, party: str, user: str | None, contracts: list[str],
    now: datetime | None = None,
) -> CheckIn:
    """Store one check-in; the caller has checked the record permission already."""
    async with sessions.begin() as session:
        row = CheckInRow(member_key=member_key, organization=organization, note=note,
                         party=party, user=user, contracts=" ".join(contracts),
                         recorded_at=now or utcnow())
        session.add(row)
        await session.flush()
        return CheckIn.from_row(row)


async def checkins_of(sessions: async_sessionmaker[AsyncSession],
                      member_key: str) -> list[CheckIn]:
    async with sessions() as session:
        rows = await session.scalars(select(CheckInRow).where(
            CheckInRow.member_key == member_key).order_by(CheckInRow.id))
        return [CheckIn.from_row(r) for r in rows]
