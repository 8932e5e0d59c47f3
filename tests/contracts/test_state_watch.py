"""StateWatch shares version reads between concurrent requests without ever answering a call
with a read that began before it (a revocation committed before a request must be seen by it).
Real database (SQLite, and PostgreSQL when configured), real concurrency."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.contracts.store import ContractStateRow, StateWatch


def _count_and_slow_reads(engine: AsyncEngine, delay: float) -> list[str]:
    """Record every version read; make each take `delay` seconds in the driver's thread."""
    reads: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _slow(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "contract_state" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)
            time.sleep(delay)

    return reads


async def _bump(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(ContractStateRow).where(ContractStateRow.id == 1)
                           .values(version=ContractStateRow.version + 1))


async def test_concurrent_calls_share_reads(engine: AsyncEngine) -> None:
    reads = _count_and_slow_reads(engine, 0.02)
    watch = StateWatch(engine)
    try:
        answers = await asyncio.gather(*(watch.versions() for _ in range(32)))
    finally:
        await watch.close()
    assert len(set(answers)) == 1
    # the first call's read, then one read for all that arrived while it ran
    assert 1 <= len(reads) <= 2, f"{len(reads)} reads for 32 concurrent calls"


async def test_a_call_never_joins_a_read_that_began_before_it(engine: AsyncEngine) -> None:
    reads = _count_and_slow_reads(engine, 0.2)
    watch = StateWatch(engine)
    try:
        before, _ = await watch.versions()
        first = asyncio.ensure_future(watch.versions())
        while not reads[1:]:  # the first call's read is running (and slow)
            await asyncio.sleep(0.005)
        await _bump(engine)  # committed while that read runs
        after, _ = await watch.versions()  # began after the commit: must see it
        await first
    finally:
        await watch.close()
    assert before is not None and after == before + 1


async def test_a_failed_read_fails_its_callers_and_the_next_call_reads_again(
        engine: AsyncEngine) -> None:
    watch = StateWatch(engine)
    fail = {"once": True}

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _break(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "contract_state" in statement and fail.pop("once", False):
            raise RuntimeError("the database went away")

    try:
        results = await asyncio.gather(watch.versions(), watch.versions(),
                                       return_exceptions=True)
        assert any(isinstance(r, RuntimeError) for r in results)
        version, _ = await watch.versions()
    finally:
        await watch.close()
    assert version is not None
