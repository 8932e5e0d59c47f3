"""Read-side queries the API needs from the index that are not plain primary-key lookups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import RequestError
from hub.store.members import as_utc
from hub.store.models import DataIssueRow, SyncStateRow

__all__ = ["SourceSyncStatus", "sync_status", "data_issues"]


@dataclass(frozen=True, slots=True)
class SourceSyncStatus:
    """A source's last sync across its entities: failed if any entity failed, else running if
    any is running; `finished_at` is the latest entity's finish."""

    source: str
    status: str
    finished_at: datetime | None
    records: int
    issues: int
    last_error_code: str | None


async def sync_status(session: AsyncSession) -> dict[str, SourceSyncStatus]:
    rows = (await session.execute(select(SyncStateRow).order_by(SyncStateRow.source))).scalars()
    grouped: dict[str, list[SyncStateRow]] = {}
    for row in rows:
        grouped.setdefault(row.source, []).append(row)
    out: dict[str, SourceSyncStatus] = {}
    for source, states in grouped.items():
        statuses = {s.status for s in states}
        status = next((s for s in ("failed", "running", "ok") if s in statuses), "never")
        finished = [as_utc(s.finished_at) for s in states if s.finished_at is not None]
        out[source] = SourceSyncStatus(
            source=source, status=status, finished_at=max((f for f in finished if f), default=None),
            records=sum(s.records_seen for s in states), issues=sum(s.issues_seen for s in states),
            last_error_code=next((s.last_error_code for s in states if s.status == "failed"), None),
        )
    return out


async def data_issues(
    session: AsyncSession,
    *,
    source: str | None = None,
    include_resolved: bool = False,
    limit: int = 50,
    after: int | None = None,
) -> list[DataIssueRow]:
    """Data-quality issues ordered by id; page with `after` = the last row's id."""
    if not 1 <= limit <= 1000:
        raise RequestError("limit must be between 1 and 1000")
    stmt = select(DataIssueRow).order_by(DataIssueRow.id).limit(limit)
    if source is not None:
        stmt = stmt.where(DataIssueRow.source == source)
    if not include_resolved:
        stmt = stmt.where(DataIssueRow.resolved_at.is_(None))
    if after is not None:
        stmt = stmt.where(DataIssueRow.id > after)
    return list((await session.execute(stmt)).scalars())
