"""`yanxing reconcile-sign REPORT --key KEY`: countersign a reconciliation report (双向对账报告)
offline.

The hub signs a run's report and holds no party key, so each party adds its signature where
its key is and submits the envelope (`signReconciliation`). REPORT holds what the API returned
as `Reconciliation.report`: the envelope JSON (or that JSON as a quoted string, as it appears
inside a GraphQL answer). The countersigned envelope goes to `--out` or standard output, as
the text to pass as the mutation's `envelope`. Signing is hub.report_signing's, the same
primitive the officials' console uses (console/pages/reconcile.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hub.canonical_json import strict_loads
from hub.cli._signing import add_key_options, emit, signing_key
from hub.errors import ContractError
from hub.report_signing import countersign_report

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("reconcile-sign",
                       help="countersign a reconciliation report (双向对账) offline")
    p.add_argument("report", type=Path, help="the run's `report` as the API returned it")
    add_key_options(p)
    p.set_defaults(handler=_sign)


def _read(path: Path) -> Any:
    try:
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise ContractError(f"cannot read {path}: {exc}") from exc
    try:
        doc = strict_loads(raw)
        if isinstance(doc, str):  # the report field quoted, as inside a GraphQL answer
            doc = strict_loads(doc.encode("utf-8"))
    except (ContractError, ValueError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path} is not a report envelope (JSON): {exc}") from None
    if not isinstance(doc, dict) or set(doc) != {"payload", "signatures"}:
        raise ContractError(f"{path} is not a signed report: expected the JSON envelope "
                            "{\"payload\", \"signatures\"} of Reconciliation.report")
    return doc


def _sign(args: argparse.Namespace) -> int:
    key, kid = signing_key(args)
    envelope = countersign_report(_read(args.report), key, kid)
    return emit(args, json.dumps(envelope) + "\n", f"countersigned with {kid}")
