"""`yanxing audit verify --db URL --hub-key FILE`: check the audit log's chain and checkpoints."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from hub.audit.verify import VerifyReport, verify_log
from sqlalchemy.exc import SQLAlchemyError

from hub.cli._db import open_db
from hub.contracts.keys import load_public_key
from hub.errors import ContractError
from hub.store.session import create_session_factory

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("audit", help="the tamper-evident audit log")
    cmds = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = cmds.add_parser("verify", help="detect edited, deleted, inserted or reordered entries")
    p.add_argument("--db", required=True, help="database URL holding the audit log")
    p.add_argument("--hub-key", type=Path, required=True, help="hub public key (JWK or PEM)")
    p.set_defaults(handler=_verify)


async def _run(url: str, key_path: Path) -> VerifyReport:
    engine = open_db(url)
    try:
        return await verify_log(create_session_factory(engine), load_public_key(key_path))
    except SQLAlchemyError as exc:
        raise ContractError(f"cannot read the audit log at {url}: {exc.__class__.__name__}: "
                            f"{str(exc).splitlines()[0]}") from exc
    finally:
        await engine.dispose()


def _verify(args: argparse.Namespace) -> int:
    report = asyncio.run(_run(args.db, args.hub_key))
    if report.ok:
        print(f"audit log intact: {report.entries} entries, {report.checkpoints} signed "
              "checkpoints")
        return 0
    print(f"audit log TAMPERED: {len(report.problems)} problem(s)", file=sys.stderr)
    for problem in report.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 2
