"""`yanxing audit verify`: check the audit log's chain, indexes and every signed head known.

    yanxing audit verify --config yanxing.toml            # database, hub key, anchor from it
    yanxing audit verify --db URL --hub-key FILE [--anchor FILE] [--since-head FILE ...]

`--since-head FILE` is an `auditHead` answer a party saved earlier (the object, the whole
GraphQL response, or the bare JWS): verify fails unless the log still holds that entry with
that hash, so a party proves the log only grew. Exit 0 when intact, 2 with every problem
listed on stderr otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from hub.audit.anchor import read_head_file
from hub.audit.verify import VerifyReport, verify_log
from hub.cli._db import open_db
from hub.contracts.keys import load_public_key
from hub.errors import ConfigError, ContractError
from hub.store.session import create_session_factory

__all__ = ["register"]


def _every(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be 1..100000")
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("audit", help="the tamper-evident audit log")
    cmds = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = cmds.add_parser("verify", help="detect edited, deleted, inserted, reordered, re-hashed "
                        "or truncated entries, and hidden accesses")
    p.add_argument("--config", type=Path, default=None,
                   help="yanxing.toml: the database, hub key, anchor file and checkpoint_every "
                   "come from it (the options below override)")
    p.add_argument("--db", default=None, help="database URL holding the audit log")
    p.add_argument("--hub-key", type=Path, default=None, help="hub public key (JWK or PEM)")
    p.add_argument("--anchor", type=Path, default=None,
                   help="the anchor file the hub appends every signed checkpoint to "
                   "([trust] audit_anchor)")
    p.add_argument("--since-head", type=Path, action="append", default=[], metavar="FILE",
                   help="an auditHead a party saved: the log must still hold it (repeatable)")
    p.add_argument("--checkpoint-every", type=_every, default=None, metavar="N",
                   help="most entries allowed without a signed checkpoint (default: as the "
                   "hub signed it, else 100)")
    p.set_defaults(handler=_verify)


@dataclass(frozen=True, slots=True)
class _Target:
    url: str
    hub_key: Path
    anchor: Path | None
    checkpoint_every: int | None


def _target(args: argparse.Namespace) -> _Target:
    url, key, anchor, every = args.db, args.hub_key, args.anchor, args.checkpoint_every
    if args.config is not None:
        from hub.settings import read_audit_location

        database_url, trust = read_audit_location(args.config)
        url = url or database_url
        if trust is not None:
            key = key or trust.hub_public_key_path
            anchor = anchor or trust.audit_anchor
            every = every or trust.checkpoint_every
    if url is None or key is None:
        raise ConfigError("say where the log is: --config yanxing.toml (with a [trust] table), "
                          "or --db URL and --hub-key FILE")
    return _Target(url, key, anchor, every)


async def _run(target: _Target, heads: list[str]) -> VerifyReport:
    engine = open_db(target.url)
    try:
        return await verify_log(create_session_factory(engine), load_public_key(target.hub_key),
                                anchor=target.anchor, since_heads=heads,
                                checkpoint_every=target.checkpoint_every)
    except SQLAlchemyError as exc:
        raise ContractError(f"cannot read the audit log at {target.url}: "
                            f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}") from exc
    finally:
        await engine.dispose()


def _verify(args: argparse.Namespace) -> int:
    target = _target(args)
    heads = [read_head_file(path) for path in args.since_head]
    report = asyncio.run(_run(target, heads))
    if report.ok:
        anchored = (f", {report.anchored} anchored outside the database" if target.anchor
                    else " (no anchor file checked: pass --anchor or --config)")
        grown = f"; grew from {report.heads} saved head(s)" if report.heads else ""
        print(f"audit log intact: {report.entries} entries, {report.checkpoints} signed "
              f"checkpoints{anchored}{grown}")
        return 0
    print(f"audit log TAMPERED: {len(report.problems)} problem(s)", file=sys.stderr)
    for problem in report.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 2
