"""A run's report rows stored as Parquet blocks come back as the same rows, in report order,
across block boundaries, and the signed digests recomputed from what was stored match (on
SQLite, and on PostgreSQL when YANXING_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.model import Side
from hub.reconcile.matching import CATEGORIES, Parameters, RowScope, reconcile
from hub.reconcile.report import build_document, rows_of, verify_rows
from hub.reconcile.store import RunRowBlock, create_run, finish_run, get_run, rows_of_run
from tests.reconcile.test_matching import DESTINATION, ORIGIN, SCOPE, ledger


async def test_rows_round_trip_through_blocks(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    o, d = ledger(Side.ORIGIN, ORIGIN), ledger(Side.DESTINATION, DESTINATION)
    for params in (SCOPE, Parameters("2026Q3", RowScope())):
        outcome = reconcile(o, d, params)
        rows = rows_of(outcome, o, d)
        document = build_document(run_id="r", contract={"id": "c", "digest": ""},
                                  parties={"origin": "o", "destination": "d"}, params=params,
                                  origin=o, destination=d, outcome=outcome, rows=rows)
        run_id = await create_run(session_factory, contract_id="c", contract_digest="",
                                  origin_party="o", destination_party="d", period="2026Q3",
                                  scope=params.scope.as_json(), started_by="o", user=None)
        await finish_run(session_factory, run_id, document=document, envelope={},
                         rows=rows, block_rows=1)   # one row a block: every boundary crossed
        stored = await rows_of_run(session_factory, run_id)
        assert {c: stored[c] for c in CATEGORIES} == {c: rows[c].to_dicts() for c in CATEGORIES}
        assert verify_rows(document, stored) == []
        assert (await get_run(session_factory, run_id)).counts == document["counts"]
        async with session_factory() as session:
            blocks = await session.scalar(select(func.count()).select_from(RunRowBlock)
                                          .where(RunRowBlock.run_id == run_id))
        assert blocks == sum(frame.height for frame in rows.values())
        one = await rows_of_run(session_factory, run_id, "origin_only")
        assert one["origin_only"] == rows["origin_only"].to_dicts() and not one["matched"]
