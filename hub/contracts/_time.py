"""Times in signed documents: RFC 3339 UTC strings ("2025-01-01T00:00:00Z"), whole seconds.

Documents are signed, so a time must have exactly one spelling; JWS headers and token claims
use integer seconds since the epoch (RFC 7519 NumericDate) instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.errors import ContractError

__all__ = ["utcnow", "format_time", "parse_time", "to_epoch", "from_epoch"]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def format_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC time")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    try:
        value = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError) as exc:
        raise ContractError(f"time {text!r} is not of the form 2025-01-01T00:00:00Z") from exc
    return value.replace(tzinfo=UTC)


def to_epoch(value: datetime) -> int:
    return int(value.timestamp())


def from_epoch(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)
