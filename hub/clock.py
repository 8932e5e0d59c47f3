"""Times in signed documents: RFC 3339 UTC strings ("2025-01-01T00:00:00Z"), whole seconds.

Documents are signed, so a time must have exactly one spelling; JWS headers and token claims
use integer seconds since the epoch (RFC 7519 NumericDate) instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.errors import ContractError

__all__ = ["utcnow", "format_time", "parse_time", "to_epoch", "from_epoch", "EPOCH_MAX",
           "is_numeric_date", "as_utc"]

#: the last second a `datetime` can hold (9999-12-31T23:59:59Z): a NumericDate beyond it, or
#: before 1970, is absurd and would overflow the conversion (HTTP 500 before any signature
#: check), so it is refused as malformed instead
EPOCH_MAX = 253402300799


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def as_utc(value: datetime | None) -> datetime | None:
    """A time read back from the database, aware: SQLite stores `DateTime(timezone=True)`
    without the zone and returns it naive, although the hub only ever writes UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


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


def is_numeric_date(value: object) -> bool:
    """An integer (not a bool) second in 1970..9999, the only NumericDates a signed token or
    header may carry."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= EPOCH_MAX


def from_epoch(value: int) -> datetime:
    if not is_numeric_date(value):
        raise ContractError(
            f"time {value!r} is not a NumericDate: whole seconds since 1970 up to {EPOCH_MAX}")
    return datetime.fromtimestamp(value, UTC)
