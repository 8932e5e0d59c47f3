"""`yanxing obligations`: the contracts' obligations as scheduled instances, in a table.

    yanxing obligations --config yanxing.toml [--party ID] [--state due|fulfilled|overdue]
    yanxing obligations --db URL [--party ID] [--at 2026-12-31T00:00:00Z]

Reads the contracts stored in the hub's database and the ledger entries that fulfil
obligations (hub.exchange.obligations): every instance of every obligation (每季度通联流动党员台账,
年终发函, ...) with its period, due date, grace, state and the entry that fulfilled it. With
`--party`, what that party owes or is owed (all of a contract it observes). Exit 0; 2 with
what was wrong when the configuration or database cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hub.cli._db import open_db
from hub.clock import parse_time, utcnow
from hub.contracts.store import ContractStore
from hub.errors import ConfigError
from hub.exchange.obligations import obligations_for
from hub.exchange.schedule import CST, ObligationInstance
from hub.store.migrate import require_head
from hub.store.session import create_session_factory

__all__ = ["register", "obligations_table"]

_STATES = ("due", "fulfilled", "overdue")
_STYLE = {"due": "yellow", "fulfilled": "green", "overdue": "bold red"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("obligations", help="contract obligations: due, fulfilled, overdue",
                            description="List the scheduled instances of the obligations in "
                            "the stored contracts (每季度通联流动党员台账, 年终发函, ...) with "
                            "their states.")
    parser.add_argument("--config", type=Path, default=None,
                        help="yanxing.toml: the hub's database comes from it")
    parser.add_argument("--db", default=None, help="the hub's database URL (instead of "
                        "--config)")
    parser.add_argument("--party", default=None, help="only what this party owes or is owed")
    parser.add_argument("--state", choices=_STATES, default=None, help="only this state")
    parser.add_argument("--at", default=None, metavar="TIME",
                        help="states as at this UTC time (2026-12-31T00:00:00Z; default now)")
    parser.set_defaults(handler=run)


def obligations_table(instances: list[ObligationInstance], *, title: str) -> Table:
    """The instances as a rich table, newest period first (as given)."""
    table = Table(title=title, show_lines=False, header_style="bold")
    for name in ("协议 contract", "义务 obligation", "义务方 party", "对象 to", "期间 period",
                 "到期 due", "宽限至 grace", "状态 state", "条目 entry"):
        table.add_column(name, overflow="fold")
    for i in instances:
        state = i.state.value
        table.add_row(
            i.contract_title, i.description or f"{i.what} ({i.schedule})", i.party,
            ", ".join(i.to), f"{i.period_start.astimezone(CST):%Y-%m-%d}",
            f"{i.due_at.astimezone(CST):%Y-%m-%d}", f"{i.grace_until.astimezone(CST):%Y-%m-%d}",
            f"[{_STYLE[state]}]{state}[/]",
            str(i.fulfilled_by) if i.fulfilled_by is not None else "")
    return table


async def _instances(url: str, party: str | None, now: datetime) -> list[ObligationInstance]:
    engine = open_db(url)
    try:
        await require_head(engine)  # SCHEMA_OUT_OF_DATE: run `yanxing db upgrade` first
        sessions = create_session_factory(engine)
        store = ContractStore(sessions)
        records = await (store.for_party(party, now=now) if party else store.all(now=now))
        return await obligations_for(sessions, records, now, party=party)
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    url = args.db
    if args.config is not None and url is None:
        from hub.settings import read_audit_location

        url, _ = read_audit_location(args.config)
    if url is None:
        raise ConfigError("say where the hub's database is: --config yanxing.toml or --db URL")
    now = parse_time(args.at) if args.at else utcnow()
    found = asyncio.run(_instances(url, args.party, now))
    if args.state:
        found = [i for i in found if i.state.value == args.state]
    counts = {s: sum(i.state.value == s for i in found) for s in _STATES}
    console = Console(width=160)
    who = f" — {args.party}" if args.party else ""
    console.print(obligations_table(found, title=f"协议义务 Obligations{who}"))
    console.print(f"{len(found)} instances: {counts['fulfilled']} fulfilled, {counts['due']} due, "
                  f"{counts['overdue']} overdue (as at {now:%Y-%m-%d %H:%M} UTC)")
    return 0
