"""A reconciliation run end to end: read both ledgers, match, build and sign the report, store.

Used by the GraphQL job (in the background, progress persisted) and by `yanxing reconcile`
(in the foreground, progress on the terminal). Files handed in are read *before* the run is
created (`load_side`), so a bad file is refused with nothing written; the index is read inside
the job. The CPU-bound matching runs in a worker thread, so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.mapping import SourceMapping
from hub.errors import HubError
from hub.model import Side
from hub.reconcile.inputs import read_ledger_file, read_ledger_index
from hub.reconcile.ledger import Ledger
from hub.reconcile.matching import Outcome, Parameters, reconcile
from hub.reconcile.report import build_document, rows_of, sign_report
from hub.reconcile.store import decisions_for, fail_run, finish_run, set_progress
from hub.reconcile.timing import Stopwatch

__all__ = ["SideInput", "Result", "load_side", "compute", "run_job"]

_log = logging.getLogger("yanxing.reconcile")
StageReport = Callable[[str, float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SideInput:
    """One side: a party's configured sources (read from the index), or a file + mapping."""

    side: Side
    party: str
    sources: tuple[str, ...] = ()
    file: Path | None = None
    mapping: SourceMapping | None = None


@dataclass(frozen=True, slots=True)
class Result:
    document: Mapping[str, Any]
    envelope: Mapping[str, Any] | None
    rows: Mapping[str, pl.DataFrame]
    outcome: Outcome
    origin: Ledger
    destination: Ledger


async def load_side(sessions: async_sessionmaker[AsyncSession], given: SideInput, *,
                    secret: bytes) -> Ledger:
    owners = frozenset({given.party})
    if given.file is not None:
        assert given.mapping is not None, "a file comes with its mapping"
        return await read_ledger_file(given.file, given.mapping, side=given.side,
                                      secret=secret, owners=owners)
    async with sessions() as session:
        return await read_ledger_index(session, given.sources, side=given.side, owners=owners,
                                       label=f"{given.party} ({'+'.join(given.sources)})")


async def compute(origin: Ledger, destination: Ledger, params: Parameters, *, run_id: str,
                  contract: Mapping[str, str], decisions: Mapping[str, str],
                  hub_key: Ed25519PrivateKey | None, hub_kid: str | None,
                  stage: StageReport | None = None) -> Result:
    """Match, then build the rows and the report (signed by the hub when it has its key)."""
    async def tell(name: str, share: float) -> None:
        if stage is not None:
            await stage(name, share)

    await tell("matching", 0.3)
    outcome = await asyncio.to_thread(reconcile, origin, destination, params,
                                      decisions=decisions)
    # matching is done with the records: a caller that handed its ledgers over (run_job,
    # the benchmark) frees their frames here, before the report's rows are built
    origin, destination = origin.spent(), destination.spent()
    await tell("report", 0.7)
    watch = Stopwatch()
    rows = await asyncio.to_thread(lambda: rows_of(outcome, origin, destination, release=True))
    watch.lap("report_rows")
    parties = {"origin": next(iter(sorted(origin.owners)), "origin"),
               "destination": next(iter(sorted(destination.owners)), "destination")}
    document = await asyncio.to_thread(
        lambda: build_document(run_id=run_id, contract=contract, parties=parties,
                               params=params, origin=origin, destination=destination,
                               outcome=outcome, rows=rows))
    watch.lap("digest")
    envelope = sign_report(document, hub_key, hub_kid) if hub_key and hub_kid else None
    watch.lap("sign")
    outcome.seconds.update(watch.wall)
    outcome.cpu_seconds.update(watch.cpu)
    return Result(document, envelope, rows, outcome, origin, destination)


async def run_job(sessions: async_sessionmaker[AsyncSession], run_id: str, *,
                  origin: SideInput | Ledger, destination: SideInput | Ledger,
                  params: Parameters, secret: bytes, contract: Mapping[str, str],
                  hub_key: Ed25519PrivateKey, hub_kid: str) -> None:
    """The background job behind `startReconciliation`: never raises; a failure is stored
    on the run (its message and code) and nothing of its rows is kept."""
    async def stage(name: str, share: float) -> None:
        await set_progress(sessions, run_id, name, share)

    try:
        await stage("reading", 0.05)
        ledgers = [side if isinstance(side, Ledger) else
                   await load_side(sessions, side, secret=secret)
                   for side in (origin, destination)]
        decisions = await decisions_for(sessions, contract["id"])
        # handed over, not kept here, so compute can free the records after matching
        result = await compute(ledgers.pop(0), ledgers.pop(0), params, run_id=run_id,
                               contract=contract, decisions=decisions, hub_key=hub_key,
                               hub_kid=hub_kid, stage=stage)
        await stage("saving", 0.9)
        assert result.envelope is not None
        await finish_run(sessions, run_id, document=result.document, envelope=result.envelope,
                         rows=result.rows)
    except HubError as exc:
        await fail_run(sessions, run_id, str(exc), exc.code)
    except Exception as exc:  # the job must record why it stopped, whatever it was
        _log.exception("reconciliation %s failed", run_id)
        await fail_run(sessions, run_id, f"internal error: {type(exc).__name__}", "INTERNAL")
