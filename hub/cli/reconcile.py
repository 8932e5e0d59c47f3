"""`yanxing reconcile --origin X --destination Y --period 2026Q3 [--out report.xlsx]`: a two-way
reconciliation (双向对账) from the command line.

Each side is a party id (its configured sources, read from the hub's index) or a ledger file
(.csv / .xlsx, with `--origin-mapping` / `--destination-mapping`: the same TOML mapping files as
configured sources). Shows a progress bar while it runs (on a terminal only) and a summary table
at the end; writes the XLSX for officials (`--out`) and the JSON (`--json`). With [trust] and
the hub's private key configured the report is signed by the hub; with `--contract` the run is
also stored, so the parties can countersign it in GraphQL (`signReconciliation`), and the
decisions people made on candidates under that contract are applied. The bar and the table are
drawn by hand like `yanxing sync`'s, for the same reasons (hub/cli/sync.py).

Exit status: 0 done; 2 a bad file, mapping, period or configuration (what to fix is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

from hub.errors import ConfigError
from hub.model import Side
from hub.reconcile.export import CATEGORY_TERMS, SHEET_NAMES, write_json, write_xlsx
from hub.reconcile.inputs import ledger_mapping, read_ledger_file, read_ledger_index
from hub.reconcile.ledger import Ledger
from hub.reconcile.matching import CATEGORIES, Parameters, RowScope
from hub.reconcile.report import nest
from hub.reconcile.service import Result, compute
from hub.reconcile.store import check_period, create_run, decisions_for, finish_run
from hub.settings import Settings, load_settings
from hub.store.session import create_engine, create_session_factory, init_db

__all__ = ["register", "run", "format_summary"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="two-way reconciliation of an origin's and a destination's ledgers (双向对账)",
        description="Compare the origin's and the destination's member ledgers for a quarter: "
        "matched, differing, status conflicts, origin only, destination only, candidates, "
        "duplicates and bad rows. Each side is a party id (its configured sources, from the "
        "index) or a .csv/.xlsx ledger file with its mapping.",
    )
    parser.add_argument("--config", default="yanxing.toml", type=Path, help="hub configuration")
    parser.add_argument("--origin", required=True, help="origin party id, or a ledger file")
    parser.add_argument("--destination", required=True,
                        help="destination party id, or a ledger file")
    parser.add_argument("--origin-mapping", type=Path, help="mapping of the origin's file")
    parser.add_argument("--destination-mapping", type=Path,
                        help="mapping of the destination's file")
    parser.add_argument("--period", required=True, help="the quarter, e.g. 2026Q3")
    parser.add_argument("--origin-region", action="append", default=[],
                        help="scope: origin region code (repeatable)")
    parser.add_argument("--origin-org", action="append", default=[],
                        help="scope: origin organisation code (repeatable)")
    parser.add_argument("--destination-region", action="append", default=[],
                        help="scope: destination region code (repeatable)")
    parser.add_argument("--contract", help="contract id: apply its decisions, store the run")
    parser.add_argument("--out", type=Path, help="write the XLSX report here")
    parser.add_argument("--json", type=Path, help="write the JSON report here")
    parser.set_defaults(handler=run)


class _ProgressBar:
    """One self-overwriting bar on a terminal; silent elsewhere."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.enabled = out.isatty()

    async def __call__(self, stage: str, share: float) -> None:
        if self.enabled:
            done = round(share * 30)
            self.out.write(f"\r\x1b[K[{'#' * done}{'.' * (30 - done)}] {share:4.0%} {stage}")
            self.out.flush()

    def clear(self) -> None:
        if self.enabled:
            self.out.write("\r\x1b[K")
            self.out.flush()


def format_summary(result: Result) -> str:
    """Inputs, then one line per category with its count."""
    doc = result.document
    lines = []
    for side in ("origin", "destination"):
        i = doc["inputs"][side]
        lines.append(f"{side}: {i['label']}  rows {i['rows']}  in scope {i['in_scope']}  "
                     f"bad rows {i['bad_rows']}  {i['digest'][:23]}…")
    header = ("category", "sheet", "rows", "meaning")
    table = [(c, SHEET_NAMES[c], str(doc["counts"][c]), CATEGORY_TERMS[c]) for c in CATEGORIES]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(3)]
    for r in [header, *table]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3])
    lines.insert(3, "  ".join("-" * w for w in widths) + "  " + "-" * 8)
    return "\n".join(lines)


def _is_file(value: str) -> bool:
    return Path(value).suffix.lower() in (".csv", ".xlsx")


async def _side(settings: Settings, sessions: Any, value: str, mapping: Path | None,
                side: Side) -> Ledger:
    if _is_file(value):
        path = Path(value)
        if mapping is None:
            raise ConfigError(f"--{side.value}-mapping is required with the file {value}")
        return await read_ledger_file(path, ledger_mapping(mapping, path), side=side,
                                      secret=settings.hub.secret_bytes,
                                      owners=frozenset({path.stem}))
    sources = tuple(s.name for s in settings.sources if s.owner == value and s.side is side)
    if not sources:
        raise ConfigError(f"--{side.value} {value!r}: no configured {side.value} source is "
                          "owned by that party (name a party id or a .csv/.xlsx file)")
    async with sessions() as session:
        return await read_ledger_index(session, sources, side=side, owners=frozenset({value}),
                                       label=f"{value} ({'+'.join(sources)})")


def _hub_key(settings: Settings) -> tuple[Any, str | None]:
    trust = settings.trust
    if trust is None or trust.hub_private_key_path is None:
        return None, None
    from hub.contracts.keys import load_private_key, load_public_key
    from hub.contracts.trust_registry import load_registry

    kid = trust.hub_kid or load_registry(trust.registry_path,
                                         load_public_key(trust.hub_public_key_path)).hub_kid
    return load_private_key(trust.hub_private_key_path), kid


async def _reconcile(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    period = check_period(args.period)
    engine = create_engine(settings.hub.database_url)
    bar = _ProgressBar(out)
    try:
        await init_db(engine)
        sessions = create_session_factory(engine)
        origin = await _side(settings, sessions, args.origin, args.origin_mapping, Side.ORIGIN)
        await bar("reading", 0.15)
        destination = await _side(settings, sessions, args.destination,
                                  args.destination_mapping, Side.DESTINATION)
        await bar("reading", 0.3)
        scope = RowScope(tuple(args.origin_org), tuple(args.origin_region),
                         tuple(args.destination_region))
        contract = {"id": args.contract or "", "digest": ""}
        decisions = await decisions_for(sessions, args.contract) if args.contract else {}
        key, kid = _hub_key(settings)
        run_id = uuid.uuid4().hex
        if args.contract:
            run_id = await create_run(
                sessions, contract_id=args.contract, contract_digest="", period=period,
                origin_party=next(iter(origin.owners)),
                destination_party=next(iter(destination.owners)), scope=scope.as_json(),
                started_by="cli", user=None)
        result = await compute(origin, destination, Parameters(period, scope), run_id=run_id,
                               contract=contract, decisions=decisions, hub_key=key,
                               hub_kid=kid, stage=bar)
        if args.contract and result.envelope is not None:
            await finish_run(sessions, run_id, document=result.document,
                             envelope=result.envelope, rows=result.rows)
        await bar("writing", 0.95)
        signers = ["yanxing-hub (hub)"] if result.envelope else []
        if args.out:
            write_xlsx(args.out, result.document,
                       {c: [nest(r) for r in f.iter_rows(named=True)]
                        for c, f in result.rows.items()}, signers=signers)
        if args.json:
            write_json(args.json, result.document, result.envelope,
                       {c: f.to_dicts() for c, f in result.rows.items()})
    finally:
        bar.clear()
        await engine.dispose()
    print(format_summary(result), file=out)
    for path in (args.out, args.json):
        if path:
            print(f"wrote {path}", file=out)
    if result.envelope is None:
        print("note: not signed ([trust] hub_private_key is not configured)", file=out)
    return 0


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = load_settings(args.config)
    return asyncio.run(_reconcile(settings, args, out))
