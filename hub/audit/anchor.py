"""Signed checkpoints outside the database: the anchor file and the heads parties hold.

Checkpoints in the database protect the chain only as long as they stay there: whoever can
rewrite `audit_entries` can delete `audit_checkpoints` too. So every checkpoint the hub signs
is also appended, as one JSON line, to an append-only file outside the database
(`[trust] audit_anchor`), and the latest one is handed to every party that asks (`auditHead`).
Either copy proves, later, that the log had at least `size` entries ending in `head`:
`yanxing audit verify` fails when the chain is shorter or differs there.

A line / a stored head is `{"size", "head", "at", "kid", "jws"}`; only `jws` (the hub's compact
JWS over {size, head, at, every}) is trusted, the other keys are there for people to read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.clock import format_time, parse_time
from hub.errors import ContractError
from hub.jws import parse_compact, verify_compact

__all__ = ["CHECKPOINT_TYPE", "SignedCheckpoint", "append_anchor", "open_anchor",
           "read_anchor", "read_head_file"]

CHECKPOINT_TYPE = "yanxing-audit-checkpoint+jws"


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint whose hub signature has been checked (or that the hub just signed)."""

    size: int
    head: str
    at: datetime
    kid: str
    jws: str
    #: the hub's `checkpoint_every` when it signed (None: signed by an older hub)
    every: int | None = None

    @classmethod
    def verified(cls, jws: str, key: Ed25519PublicKey) -> SignedCheckpoint:
        """Parse `jws` and check it is a checkpoint signed by `key`; ContractError if not."""
        try:
            parsed = parse_compact(jws)
        except ContractError:
            raise ContractError("not a compact JWS") from None
        payload = parsed.payload
        if parsed.header.get("typ") != CHECKPOINT_TYPE or not isinstance(payload, dict):
            raise ContractError("not an audit checkpoint")
        if not verify_compact(parsed, key):
            raise ContractError("not validly signed by the hub key")
        size, head, at, every = (payload.get(k) for k in ("size", "head", "at", "every"))
        if (not isinstance(size, int) or isinstance(size, bool) or size < 0
                or not isinstance(head, str) or not isinstance(at, str)):
            raise ContractError("checkpoint payload lacks size, head or at")
        try:
            when = parse_time(at)
        except ValueError:
            raise ContractError("checkpoint time is not a time") from None
        return cls(size, head, when, parsed.kid, jws,
                   every if isinstance(every, int) and not isinstance(every, bool) else None)

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "head": self.head, "at": format_time(self.at),
                "kid": self.kid, "jws": self.jws}


def append_anchor(path: Path, checkpoint: SignedCheckpoint) -> None:
    """Append one line and fsync it (O_APPEND: concurrent writers never interleave lines)."""
    line = (json.dumps(checkpoint.to_json(), separators=(",", ":")) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def open_anchor(path: Path) -> None:
    """At startup: create the file if need be and prove it is appendable, so a hub whose
    anchor cannot be written fails before serving, not at its first checkpoint."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
    except OSError as exc:
        raise ContractError(f"cannot append to the audit anchor file {path}: "
                            f"{exc.strerror or exc}") from None


def _jws_of(value: Any) -> str | None:
    """The checkpoint JWS in a stored line or a saved `auditHead` answer (the object itself,
    or a whole GraphQL response `{"data": {"auditHead": {...}}}`)."""
    if isinstance(value, dict):
        data = value.get("data")
        if isinstance(data, dict) and isinstance(data.get("auditHead"), dict):
            value = data["auditHead"]
        for key in ("jws", "signature"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return None


def read_anchor(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, checkpoint JWS or None when the line is not one) for each line."""
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                yield number, _jws_of(json.loads(text))
            except ValueError:
                yield number, None


def read_head_file(path: Path) -> str:
    """The checkpoint JWS a party saved from `auditHead`; ContractError if none is there."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(f"cannot read the saved audit head {path}: {exc}") from None
    try:
        jws = _jws_of(json.loads(text))
    except ValueError:
        jws = text.strip() if text.strip().count(".") == 2 else None
    if jws is None:
        raise ContractError(f"{path} holds no audit head: save the `auditHead` answer (its "
                            "`jws`) or the checkpoint JWS itself")
    return jws
