"""Reconciliation runs, their rows and the people's decisions on candidates, in the database.

A run is a job: `queued` -> `running` (stage and progress per mille, written as it goes) ->
`done` or `failed`; once every party has countersigned its report it is `signed`. Its rows are
written in the same transaction that marks it done, so a failed run leaves no half of them.
Decisions on candidate pairs belong to the contract, not to one run: the next run of the same
contract applies them (a confirmed pair compared as a match, a rejected one never proposed).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.errors import NotFound, RequestError
from hub.reconcile.matching import CATEGORIES
from hub.store.base import Base

__all__ = [
    "RunRow", "RunRowItem", "RunRowBlock", "BLOCK_ROWS", "row_blocks", "DecisionRow",
    "Run", "RunState", "PERIOD_PATTERN",
    "check_period", "create_run", "running_run", "set_progress", "finish_run", "fail_run",
    "get_run", "runs_of_party",
    "rows_of_run", "decide", "decisions_for", "store_envelope", "quarterly_reconciliation_signed",
]

PERIOD_PATTERN = re.compile(r"^(20\d\d)Q([1-4])$")
#: rows per stored block (RunRowBlock)
BLOCK_ROWS = 50_000


class RunState:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SIGNED = "signed"


class RunRow(Base):
    __tablename__ = "reconciliations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(128), index=True)
    contract_digest: Mapped[str] = mapped_column(String(80))
    origin_party: Mapped[str] = mapped_column(String(64))
    destination_party: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(8), index=True)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    document: Mapped[str | None] = mapped_column(Text)
    envelope: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(40))
    started_by: Mapped[str] = mapped_column(String(64))
    started_by_user: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]


class RunRowItem(Base):
    __tablename__ = "reconciliation_rows"
    __table_args__ = (Index("ix_reconciliation_rows_run_category", "run_id", "category",
                            "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("reconciliations.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class RunRowBlock(Base):
    """Up to `BLOCK_ROWS` report rows of one category as a Parquet file (zstd): a million
    rows are a few dozen inserts of a few megabytes, not a million JSON rows. The rows are
    the flat report rows whose canonical JSON the signed document digests; reading a block
    back gives the same values (text, whole numbers, nulls), so the digest can be recomputed
    from what is stored (hub.reconcile.report.verify_rows)."""

    __tablename__ = "reconciliation_row_blocks"
    __table_args__ = (Index("ix_reconciliation_row_blocks_run_category", "run_id", "category",
                            "block"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("reconciliations.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(20))
    block: Mapped[int] = mapped_column(Integer)
    first_position: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DecisionRow(Base):
    __tablename__ = "reconciliation_decisions"
    __table_args__ = (UniqueConstraint("contract_id", "pair",
                                       name="reconciliation_decisions_contract_id_pair_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(String(128))
    pair: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))
    party: Mapped[str] = mapped_column(String(64))
    user: Mapped[str | None] = mapped_column(String(128))
    run_id: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    contract_id: str
    contract_digest: str
    origin_party: str
    destination_party: str
    period: str
    scope: Mapping[str, Any]
    state: str
    stage: str | None
    progress: int
    counts: Mapping[str, int] | None
    document: Mapping[str, Any] | None
    envelope: Mapping[str, Any] | None
    error: str | None
    error_code: str | None
    started_by: str
    created_at: datetime
    finished_at: datetime | None
    signed_at: datetime | None

    @property
    def parties(self) -> frozenset[str]:
        return frozenset({self.origin_party, self.destination_party})

    @classmethod
    def of(cls, row: RunRow) -> Run:
        return cls(row.id, row.contract_id, row.contract_digest, row.origin_party,
                   row.destination_party, row.period, row.scope, row.state, row.stage,
                   row.progress, row.counts,
                   json.loads(row.document) if row.document else None,
                   json.loads(row.envelope) if row.envelope else None,
                   row.error, row.error_code, row.started_by, row.created_at, row.finished_at,
                   row.signed_at)


def check_period(period: str) -> str:
    """`2026Q3`: a quarter, since the agreements exchange ledgers every quarter."""
    if not isinstance(period, str) or not PERIOD_PATTERN.match(period):
        raise RequestError(f"period {str(period)[:20]!r} is not a quarter like 2026Q3")
    return period


async def create_run(sessions: async_sessionmaker[AsyncSession], *, contract_id: str,
                     contract_digest: str, origin_party: str, destination_party: str,
                     period: str, scope: Mapping[str, Any], started_by: str,
                     user: str | None) -> str:
    run_id = uuid.uuid4().hex
    async with sessions.begin() as session:
        session.add(RunRow(
            id=run_id, contract_id=contract_id, contract_digest=contract_digest,
            origin_party=origin_party, destination_party=destination_party,
            period=check_period(period), scope=dict(scope), state=RunState.QUEUED, stage=None,
            progress=0, started_by=started_by, started_by_user=user,
            # to the microsecond (utcnow() drops it): runs started within one second still
            # list in the order they were started (`reconciliations`, newest first)
            created_at=datetime.now(UTC)))
    return run_id


async def running_run(sessions: async_sessionmaker[AsyncSession], contract_id: str,
                      period: str, *, within: timedelta = timedelta(hours=1)) -> str | None:
    """A run of this contract and period queued or running, started within `within` (a
    job that died with its process stops counting after that)."""
    async with sessions() as session:
        found = await session.scalar(select(RunRow.id).where(
            RunRow.contract_id == contract_id, RunRow.period == period,
            RunRow.state.in_((RunState.QUEUED, RunState.RUNNING)),
            RunRow.created_at >= utcnow() - within).limit(1))
    return found


async def set_progress(sessions: async_sessionmaker[AsyncSession], run_id: str, stage: str,
                       progress: float) -> None:
    async with sessions.begin() as session:
        await session.execute(update(RunRow).where(RunRow.id == run_id).values(
            state=RunState.RUNNING, stage=stage[:32], progress=max(0, min(1000, round(
                progress * 1000)))))


def row_blocks(frame: pl.DataFrame, rows: int = BLOCK_ROWS) -> Iterator[tuple[int, int, bytes]]:
    """(first position, row count, Parquet bytes) per block of `rows` rows of a frame, made
    one at a time (a million rows' blocks are never all in memory). LZ4: half zstd's CPU for
    blocks twice the size (about 130 bytes a row), which a database holds easily."""
    for start in range(0, frame.height, rows):
        buffer = io.BytesIO()
        frame.slice(start, rows).write_parquet(buffer, compression="lz4", statistics=False)
        yield start, min(rows, frame.height - start), buffer.getvalue()


async def finish_run(sessions: async_sessionmaker[AsyncSession], run_id: str, *,
                     document: Mapping[str, Any], envelope: Mapping[str, Any],
                     rows: Mapping[str, pl.DataFrame], block_rows: int = BLOCK_ROWS) -> None:
    """Rows, report and state in one transaction: all of it, or (on failure) none. The rows
    go in Parquet blocks of `block_rows` (`RunRowBlock`), each made in a worker thread and
    inserted before the next is made."""
    async with sessions.begin() as session:
        for category in CATEGORIES:
            frame = rows.get(category)
            if frame is None or frame.height == 0:
                continue
            blocks = row_blocks(frame, block_rows)
            number = 0
            while (block := await asyncio.to_thread(next, blocks, None)) is not None:
                first, count, data = block
                await session.execute(insert(RunRowBlock).values(
                    run_id=run_id, category=category, block=number, first_position=first,
                    rows=count, data=data))
                number += 1
        await session.execute(update(RunRow).where(RunRow.id == run_id).values(
            state=RunState.DONE, stage="done", progress=1000, counts=dict(document["counts"]),
            document=json.dumps(document, ensure_ascii=False, sort_keys=True),
            envelope=json.dumps(envelope), finished_at=utcnow()))


async def fail_run(sessions: async_sessionmaker[AsyncSession], run_id: str, error: str,
                   code: str) -> None:
    async with sessions.begin() as session:
        await session.execute(update(RunRow).where(RunRow.id == run_id).values(
            state=RunState.FAILED, error=error[:2000], error_code=code[:40],
            finished_at=utcnow()))


async def get_run(sessions: async_sessionmaker[AsyncSession], run_id: str) -> Run:
    async with sessions() as session:
        row = await session.get(RunRow, run_id)
    if row is None:
        raise NotFound(f"no reconciliation {run_id[:40]!r}")
    return Run.of(row)


async def runs_of_party(sessions: async_sessionmaker[AsyncSession], party: str) -> list[Run]:
    """Every run `party` is a party of, newest first (a party holds a few a quarter per
    contract, so the caller filters by its permissions and pages in memory)."""
    async with sessions() as session:
        result = await session.scalars(select(RunRow).where(
            (RunRow.origin_party == party) | (RunRow.destination_party == party))
            .order_by(RunRow.created_at.desc(), RunRow.id))
        return [Run.of(row) for row in result]


async def rows_of_run(sessions: async_sessionmaker[AsyncSession], run_id: str,
                      category: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """The run's rows per category, in their report order: from its Parquet blocks, or for a
    run stored before blocks (revision 0009) from its JSON rows."""
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in CATEGORIES}
    blocks = select(RunRowBlock.category, RunRowBlock.data).where(RunRowBlock.run_id == run_id)
    stmt = select(RunRowItem.category, RunRowItem.data).where(RunRowItem.run_id == run_id)
    if category is not None:
        blocks = blocks.where(RunRowBlock.category == category)
        stmt = stmt.where(RunRowItem.category == category)
    async with sessions() as session:
        found = (await session.execute(blocks.order_by(RunRowBlock.category,
                                                       RunRowBlock.block))).all()
        if found:
            for cat, data in found:
                out[cat].extend(pl.read_parquet(io.BytesIO(data)).to_dicts())
            return out
        result = await session.execute(stmt.order_by(RunRowItem.category, RunRowItem.position))
        for cat, data in result:
            out[cat].append(data)
    return out


async def decide(sessions: async_sessionmaker[AsyncSession], *, contract_id: str, pair: str,
                 decision: str, party: str, user: str | None, run_id: str) -> None:
    """Keep a person's decision on a candidate pair for the contract's later runs (a later
    decision on the same pair replaces it)."""
    if decision not in ("confirmed", "rejected"):
        raise RequestError("decision must be confirmed or rejected")
    async with sessions.begin() as session:
        existing = (await session.execute(select(DecisionRow).where(
            DecisionRow.contract_id == contract_id, DecisionRow.pair == pair))).scalar_one_or_none()
        if existing is None:
            session.add(DecisionRow(contract_id=contract_id, pair=pair, decision=decision,
                                    party=party, user=user, run_id=run_id, decided_at=utcnow()))
        else:
            existing.decision, existing.party, existing.user = decision, party, user
            existing.run_id, existing.decided_at = run_id, utcnow()


async def decisions_for(sessions: async_sessionmaker[AsyncSession],
                        contract_id: str) -> dict[str, str]:
    async with sessions() as session:
        result = await session.execute(select(DecisionRow.pair, DecisionRow.decision).where(
            DecisionRow.contract_id == contract_id))
        return {pair: decision for pair, decision in result}


async def store_envelope(sessions: async_sessionmaker[AsyncSession], run_id: str,
                         envelope: Mapping[str, Any], *, all_signed: bool) -> None:
    async with sessions.begin() as session:
        values: dict[str, Any] = {"envelope": json.dumps(envelope)}
        if all_signed:
            values.update(state=RunState.SIGNED, signed_at=utcnow())
        await session.execute(update(RunRow).where(RunRow.id == run_id).values(**values))


async def quarterly_reconciliation_signed(sessions: async_sessionmaker[AsyncSession],
                                          contract_id: str, period: str) -> bool:
    """Is this contract's quarterly reconciliation for `period` (2026Q3) signed by every
    party? True once a run under the contract for that period carries the hub's signature and
    each of its parties' (verified when each signature was added). This is what fulfils a
    contract obligation `{"what": "reconciliation", "schedule": "quarterly"}`."""
    check_period(period)
    async with sessions() as session:
        found = await session.scalar(select(RunRow.id).where(
            RunRow.contract_id == contract_id, RunRow.period == period,
            RunRow.state == RunState.SIGNED).limit(1))
    return found is not None
