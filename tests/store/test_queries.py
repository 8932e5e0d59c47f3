"""Sync status and data-issue listing, read back after real syncs."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base import ReadRequest
from connectors.errors import SourceError, SourceRejected
from connectors.mock import MockConnector
from hub.errors import RequestError
from hub.federation.merge import Side
from hub.federation.sync import SyncTarget, sync_all
from hub.store.queries import data_issues, sync_status

pytestmark = pytest.mark.store


def rejected(request: ReadRequest) -> SourceError:
    return SourceRejected("zheli", "401 bad signature")


async def test_status_and_issues(session_factory: async_sessionmaker[AsyncSession], secret: bytes) -> None:
    bad = [{"local_id": str(i), "name": "x", "birth_date": 1} for i in range(5)]
    good = MockConnector("luxian", {"member": bad, "organization": [{"local_id": "O1", "name": "支部"}]})
    down = MockConnector("zheli", {"member": bad}, fail=rejected)
    await sync_all(session_factory, [SyncTarget(good, Side.ORIGIN), SyncTarget(down, Side.DESTINATION)],
                   secret=secret)
    async with session_factory() as session:
        status = await sync_status(session)
        first = await data_issues(session, source="luxian", limit=3)
        rest = await data_issues(session, source="luxian", limit=3, after=first[-1].id)
        none = await data_issues(session, source="zheli")
        with pytest.raises(RequestError):
            await data_issues(session, limit=0)
    assert (status["luxian"].status, status["luxian"].records, status["luxian"].issues) == ("ok", 1, 5)
    assert status["luxian"].finished_at is not None and status["luxian"].finished_at.tzinfo is not None
    assert (status["zheli"].status, status["zheli"].last_error_code) == ("failed", "SOURCE_REJECTED")
    assert [i.local_id for i in first + rest] == ["0", "1", "2", "3", "4"] and none == []
