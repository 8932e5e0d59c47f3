"""`yanxing letter sign FILE --key KEY`: sign an evaluation letter (年终发函) offline.

The hub holds no party key, so a party signs the letter's payload on its own machine and
submits the envelope (`signEvaluationLetter`, or `acknowledgeEvaluationLetter` to
countersign). FILE holds what the API returned: the letter's `payload` (base64url), or the
decoded letter JSON, or an envelope already signed by the other party (then this signature
is added: the origin's acknowledgement). The envelope goes to `--out` or standard output, as
the JSON to pass as the mutation's `envelope`. Signing is hub.letter_signing's (hub core: the
officials' console signs with the same code), the same RFC 7515 / RFC 8785 signing as
contracts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hub.canonical_json import b64url_decode, loads_canonical, strict_loads
from hub.cli._signing import add_key_options, emit, signing_key
from hub.errors import ContractError
from hub.letter_signing import LETTER_TYPE, countersign_letter, sign_letter

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("letter", help="evaluation letters (年终发函): sign offline")
    cmds = parser.add_subparsers(dest="letter_command", required=True, metavar="ACTION")
    p = cmds.add_parser("sign", help="sign a letter's payload, or countersign an envelope")
    p.add_argument("file", type=Path, help="the letter's `payload` (base64url), the letter "
                   "JSON, or an envelope to countersign")
    add_key_options(p)
    p.set_defaults(handler=_sign)


def _read(path: Path) -> Any:
    try:
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise ContractError(f"cannot read {path}: {exc}") from exc
    if raw.startswith(b"{"):
        return strict_loads(raw)
    try:
        return loads_canonical(b64url_decode(raw.decode("ascii")))
    except (ContractError, UnicodeDecodeError, ValueError) as exc:
        raise ContractError(f"{path} is neither JSON nor a letter's base64url payload: "
                            f"{exc}") from None


def _sign(args: argparse.Namespace) -> int:
    key, kid = signing_key(args)
    doc = _read(args.file)
    if isinstance(doc, dict) and set(doc) == {"payload", "signatures"}:
        envelope = countersign_letter(doc, key, kid)
    elif isinstance(doc, dict) and doc.get("type") == LETTER_TYPE:
        envelope = sign_letter(doc, key, kid)
    else:
        raise ContractError(f"{args.file} is not an evaluation letter (type {LETTER_TYPE!r}) "
                            "nor a signed envelope")
    return emit(args, json.dumps(envelope, ensure_ascii=False, indent=2) + "\n",
                f"signed with {kid}")
