"""`yanxing sync [SOURCE] [--config yanxing.toml] [--changed]`: index one source or all of them.

Shows a progress line while it runs (only on a terminal, so logs and pipes stay clean) and a
summary table at the end. Exit status: 0 all sources synced, 1 a source failed (its error is in
the table and in sync_state; the others were still synced), 2 the configuration is wrong.

The progress line and the table are hand-drawn on purpose (weighed against `rich` for issue 7):
the summary is read by scripts and logs as often as by people, and rich, printing to a pipe,
lays a table out to 80 columns, cutting a long source name or a header to "villa…"/"recor…"
and padding lines with blanks, while this one keeps every value whole, one row per line. The
progress line is one carriage-return rewrite, on a terminal only. Neither would get shorter
with rich, which would add three packages to every install.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from hub.cli._table import format_table
from hub.errors import ConfigError
from hub.federation.breaker import CircuitBreaker, RetryBudget
from hub.federation.sync import SyncProgress, SyncSummary, SyncTarget, sync_all
from hub.settings import Settings, SourceConfig, load_settings
from hub.store.session import create_engine, create_session_factory, init_db

__all__ = ["register", "run", "format_summary"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="index the configured sources (full, or changed-since with --changed)",
        description="Read every member, organisation, activity and attendance record of the "
        "configured sources into the hub's index. Resumes an interrupted sync.",
    )
    parser.add_argument("source", nargs="?", help="only this source (default: all)")
    parser.add_argument("--config", default="yanxing.toml", type=Path, help="hub configuration")
    parser.add_argument(
        "--changed", action="store_true",
        help="only records changed since the last sync, where the source supports it",
    )
    parser.set_defaults(handler=run)


def _select(settings: Settings, name: str | None) -> list[SourceConfig]:
    if name is None:
        return list(settings.sources)
    return [settings.source(name)]  # ConfigError naming the configured sources


class _ProgressLine:
    """One self-overwriting status line on a terminal; silent elsewhere."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.enabled = out.isatty()

    def __call__(self, p: SyncProgress) -> None:
        if self.enabled:
            self.out.write(f"\r\x1b[K{p.source} · {p.entity}: {p.records} records, page {p.pages}")
            self.out.flush()

    def clear(self) -> None:
        if self.enabled:
            self.out.write("\r\x1b[K")
            self.out.flush()


def format_summary(summaries: list[SyncSummary]) -> str:
    header = (
        "source",
        "status",
        "mode",
        "records",
        "linked",
        "unlinked",
        "issues",
        "pages",
        "seconds",
    )
    rows = [
        (s.source, s.status, s.mode, str(s.records), str(s.linked), str(s.unlinked),
         str(s.issues), str(s.pages), f"{s.seconds:.2f}")
        for s in summaries
    ]
    lines = [format_table(header, rows)]
    for s in summaries:
        if s.error:
            lines.append(f"{s.source}: {s.error} [{s.error_code}]")
    return "\n".join(lines)


@contextlib.contextmanager
def _batch_gc() -> Iterator[None]:
    """The collector tuned for one long batch: what is alive at the start (modules, mappings,
    SQLAlchemy's metadata and compiled statements) frozen out of collections, and young
    objects collected every 50,000 allocations instead of 700. A sync allocates a few dicts
    a field and keeps almost none, and each full collection walked every object of the
    process: a tenth of a province sync's CPU. Undone afterwards (tests run syncs in-process)."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def _sync(settings: Settings, sources: list[SourceConfig], *, full: bool, out: TextIO) -> int:
    from connectors.factory import open_connector  # connectors import aiohttp etc. lazily

    engine = create_engine(settings.hub.database_url)
    limits = settings.limits
    connectors = [open_connector(s.mapping) for s in sources]
    progress = _ProgressLine(out)
    try:
        await init_db(engine)
        targets = [SyncTarget(c, s.side, CircuitBreaker(limits.breaker_failures,
                                                        limits.breaker_reset_seconds),
                              RetryBudget(limits.retry_budget_ratio))
                   for c, s in zip(connectors, sources)]
        with _batch_gc():
            summaries = await sync_all(
                create_session_factory(engine), targets, secret=settings.hub.secret_bytes,
                full=full, page_size=settings.limits.sync_page_size, progress=progress,
            )
    finally:
        progress.clear()
        for connector in connectors:
            await connector.aclose()
        await engine.dispose()
    print(format_summary(summaries), file=out)
    return 0 if all(s.ok for s in summaries) else 1


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = load_settings(args.config)
    try:
        sources = _select(settings, args.source)
    except ConfigError as exc:
        print(f"yanxing sync: {exc}", file=sys.stderr)
        return 2
    if not sources:
        print(f"yanxing sync: {args.config} configures no [[sources]]", file=sys.stderr)
        return 2
    return asyncio.run(_sync(settings, sources, full=not args.changed, out=out))
