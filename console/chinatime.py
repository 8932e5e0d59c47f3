"""Times as officials read them: the hub speaks UTC (ISO 8601), officials Beijing time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["CST", "china_today", "china_time", "china_moment"]

#: China Standard Time (UTC+8, no daylight saving)
CST = timezone(timedelta(hours=8), "CST")


def china_today() -> date:
    """Today in China: the year and the deadlines officials mean."""
    return datetime.now(UTC).astimezone(CST).date()


def china_moment(value: str | None) -> datetime | None:
    """An RFC 3339 time from the hub on the Beijing clock (a time without an offset is UTC,
    as the hub writes them); None for no value. ValueError for text that is not a time."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CST)


def china_time(value: str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """`2026-12-31T15:59:00Z` -> `2026-12-31 23:59`; text that is not a time as it came."""
    try:
        moment = china_moment(value)
    except ValueError:
        return value or ""
    return moment.strftime(pattern) if moment is not None else ""
