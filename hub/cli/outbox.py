"""`yanxing outbox`: the write-back outbox (hub.exchange.outbox), for the hub's operator.

    yanxing outbox list [--state failed] [--source chengdu] [--limit 50] --config yanxing.toml
    yanxing outbox retry ID --config yanxing.toml

`list` shows the newest deliveries first: ledger entry, action, target system, state,
attempts, when the next attempt is due, and the system's error (or why the delivery does not
apply). `retry` queues a failed delivery again (its attempts start over); the hub's delivery
worker sends it at its next poll, with the same idempotency key, so the system still takes
it once. Only the database is read (`[hub] database_url`): the sources' secrets need not be
set where this runs.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli._db import open_db
from hub.cli._table import format_table
from hub.errors import ConfigError
from hub.exchange.outbox import Delivery, DeliveryState, list_deliveries, retry_delivery
from hub.store.migrate import require_head
from hub.store.session import create_session_factory

__all__ = ["register", "format_deliveries"]


def _limit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("must be 1..10000")
    return value


def register(sub: Any) -> None:
    parser = sub.add_parser("outbox", help="write-back deliveries to the systems of record")
    cmds = parser.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    listing = cmds.add_parser("list", help="deliveries, newest first, with state and error")
    listing.add_argument("--state", action="append", choices=DeliveryState.ALL, default=[],
                         help="only this state (repeatable)")
    listing.add_argument("--source", default=None, help="only deliveries to this system")
    listing.add_argument("--limit", type=_limit, default=50, help="most rows shown (50)")
    listing.set_defaults(handler=_list)
    retry = cmds.add_parser("retry", help="queue a failed delivery again")
    retry.add_argument("id", type=int, help="the delivery's id (first column of `list`)")
    retry.set_defaults(handler=_retry)
    for p in (listing, retry):
        p.add_argument("--config", type=Path, default=Path("yanxing.toml"),
                       help="yanxing.toml: the database comes from [hub] database_url")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def format_deliveries(deliveries: list[Delivery]) -> str:
    header = ("id", "entry", "action", "source", "state", "attempts", "next attempt",
              "delivered", "error / reason")
    rows = [
        (str(d.id), str(d.entry_id), d.action, d.source, d.state, str(d.attempts),
         _when(d.next_attempt_at) if d.state == DeliveryState.PENDING else "",
         _when(d.delivered_at),
         (f"[{d.last_error_code}] {d.last_error}" if d.last_error else d.reason or ""))
        for d in deliveries
    ]
    return format_table(header, rows)


async def _engine(config: Path) -> AsyncEngine:
    from hub.settings import read_audit_location

    url, _ = read_audit_location(config)
    engine = open_db(url)
    try:
        await require_head(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine


def _list(args: argparse.Namespace) -> int:
    async def run() -> list[Delivery]:
        engine = await _engine(args.config)
        try:
            return await list_deliveries(create_session_factory(engine), states=args.state,
                                         source=args.source, limit=args.limit)
        finally:
            await engine.dispose()

    deliveries = asyncio.run(run())
    if not deliveries:
        print("no deliveries" + (" in that selection" if args.state or args.source else ""))
        return 0
    print(format_deliveries(deliveries))
    return 0


def _retry(args: argparse.Namespace) -> int:
    async def run() -> tuple[Delivery | None, bool]:
        engine = await _engine(args.config)
        try:
            return await retry_delivery(create_session_factory(engine), args.id)
        finally:
            await engine.dispose()

    delivery, queued = asyncio.run(run())
    if delivery is None:
        raise ConfigError(f"there is no delivery {args.id}: `yanxing outbox list` shows them")
    if not queued:
        raise ConfigError(f"delivery {delivery.id} is {delivery.state}, not failed: only a "
                          "failed delivery is queued again (a delivered one is never sent "
                          "twice, a not_applicable one has no system to go to)")
    print(f"delivery {delivery.id} (entry {delivery.entry_id} to {delivery.source}) queued "
          "again; the hub's delivery worker sends it at its next poll")
    return 0
