"""`yanxing demo` syncs every member of every system although 浙里 caps its pages (50 rows)
and by-id batches (40 ids) below what the demo mapping asks (200 and 100), and the XML study
platform caps them at 20 rows and 10 ids (the mapping asks 100 and 50): nothing is lost and
no SOURCE_TOTAL_MISMATCH is reported (issue 10)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from sqlalchemy import select

from connectors.base import ReadRequest
from connectors.factory import open_connector
from connectors.rest import RestConnector
from hub.demo.launch import start_demo
from hub.demo.systems import study, zhejiang
from hub.store.models import DataIssueRow
from hub.store.session import create_engine, create_session_factory


async def test_demo_syncs_every_member_past_the_platform_caps(tmp_path: Path) -> None:
    async with start_demo(tmp_path / "demo", port=0, members=400) as hub:
        held = {
            s.name: sum(1 for _ in hub.world.world.members_in(s.name))
            for s in hub.world.sources if s.name != "study"
        }
        held["study"] = len(hub.world.study.collections["learners"].rows)
        records = len(hub.world.study.collections["study-records"].rows)
        assert held["study"] > 2 * study.MAX_PAGE and records > 2 * study.MAX_PAGE
        assert held["zhejiang"] > 2 * zhejiang.MAX_SIZE  # the cap really cuts the listing
        for summary in hub.summaries:
            assert summary.ok, summary.error
            assert summary.entities["member"] == held[summary.source], summary.source
            assert summary.shortfalls == {}, summary.source
        (studied,) = [s for s in hub.summaries if s.source == "study"]
        assert studied.entities["study_record"] == records
        engine = create_engine(hub.settings.hub.database_url)
        try:
            async with create_session_factory(engine)() as session:
                codes = set((await session.scalars(select(DataIssueRow.code))).all())
        finally:
            await engine.dispose()
        assert not codes & {"SOURCE_TOTAL_MISMATCH", "RECORD_NOT_FOUND"}

        source = hub.settings.source("zhejiang")
        ids = [m.local_id for m in hub.world.world.members_in("zhejiang")][:100]
        async with open_connector(source.mapping) as connector:
            result = await connector.read(ReadRequest("member", keys=ids))
            learned = dict(cast(RestConnector, connector)._learned_batch)
        assert [r.local_id if r else None for r in result.records] == ids
        assert "RECORD_NOT_FOUND" not in {i.code for i in result.issues}
        assert learned == {"member": zhejiang.MAX_IDS}

        source = hub.settings.source("study")
        ids = [str(r["userId"]) for r in hub.world.study.collections["learners"].rows][:50]
        async with open_connector(source.mapping) as connector:
            result = await connector.read(ReadRequest("member", keys=ids))
            learned = dict(cast(RestConnector, connector)._learned_batch)
        assert [r.local_id if r else None for r in result.records] == ids
        assert all(r is not None and r.values["id_number"] for r in result.records)
        assert learned == {"member": study.MAX_IDS}
