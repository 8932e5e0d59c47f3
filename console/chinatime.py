"""Times as officials read them: the hub speaks UTC (ISO 8601), officials Beijing time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["CST", "china_today", "china_time"]

#: China Standard Time (UTC+8, no daylight saving)
CST = timezone(timedelta(hours=8), "CST")


def china_today() -> date:
    """Today in China: the year and the deadlines officials mean."""
    return datetime.now(UTC).astimezone(CST).date()


def china_time(value: str | None) -> str:
    """`2026-12-31T15:59:00Z` -> `2026-12-31 23:59`; text that is not a time as it came."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M")
