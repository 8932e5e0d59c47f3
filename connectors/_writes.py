"""The part every mapped connector's `write` shares: which columns get which values.

A `[write.<action>]` table maps value names (`WRITE_VALUES`, `payload.<name>`) to the
system's columns; this module turns a `WriteRequest` into `{column: value}` once, formatting
times in the source's timezone, so the REST, SQL and ledger writers differ only in how they
put the row into their system.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any

from connectors.base import WriteRequest
from connectors.canonical import WRITE_VALUES
from connectors.mapping import WriteMapping

__all__ = ["row_of", "text_of"]


def _formatted(value: Any, fmt: str | None, tz: tzinfo) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        local = aware.astimezone(tz)
        return local.strftime(fmt) if fmt else local.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.strftime(fmt) if fmt else value.isoformat()
    return value


def row_of(spec: WriteMapping, request: WriteRequest, tz: tzinfo) -> dict[str, Any]:
    """Column -> value for one write; a value the request does not carry is None (a JSON null,
    an SQL NULL, an empty cell), never a made-up default. Time values may come as ISO 8601
    text (as a queued write stores them)."""
    out: dict[str, Any] = {}
    for f in spec.fields:
        value = request.values.get(f.name)
        if isinstance(value, str) and WRITE_VALUES.get(f.name) == "datetime":
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                pass  # written as given: the system says whether it understands it
        out[f.column] = _formatted(value, f.format, tz)
    return out


def text_of(value: Any) -> str:
    """A cell's text in a CSV ledger: empty for None, JSON-ish for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)

