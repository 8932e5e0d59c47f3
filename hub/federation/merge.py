"""Field authority: which source's value wins when two systems disagree about one person.

The rule comes from the split of responsibility in the co-management agreements
(流入地管理为主、流出地协同管理): the origin side (流出地) keeps membership records (党籍管理), the
destination side (流入地) knows where the member lives and works and runs their organisation
life. Everything else takes the newest value. Sync uses this to derive the index's routing
attributes and the query path uses it to merge live details, so both always agree.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["Side", "Authority", "FIELD_AUTHORITY", "SourcedValue", "merge_field", "merge_values"]


class Side(enum.Enum):
    """Which side of the co-management agreement a source system belongs to."""

    ORIGIN = "origin"            # 流出地
    DESTINATION = "destination"  # 流入地


class Authority(enum.Enum):
    ORIGIN = "origin"
    DESTINATION = "destination"
    NEWEST = "newest"


#: Canonical member field -> who wins. Fields not listed take the newest value.
FIELD_AUTHORITY: Mapping[str, Authority] = {
    # membership facts (党籍): origin wins
    "id_number": Authority.ORIGIN,
    "name": Authority.ORIGIN,
    "gender": Authority.ORIGIN,
    "birth_date": Authority.ORIGIN,
    "status": Authority.ORIGIN,
    "origin_org_id": Authority.ORIGIN,
    "origin_org_name": Authority.ORIGIN,
    "origin_region_code": Authority.ORIGIN,
    # residence, employer and organisation life: destination wins
    "destination_region_code": Authority.DESTINATION,
    "destination_address": Authority.DESTINATION,
    "employer": Authority.DESTINATION,
    "occupation": Authority.DESTINATION,
    "destination_since": Authority.DESTINATION,
    "destination_org_id": Authority.DESTINATION,
}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class SourcedValue:
    """One source's value for one field, with what the merge needs to rank it."""

    source: str
    side: Side
    value: Any
    updated_at: datetime | None


def _newest_key(candidate: SourcedValue) -> tuple[datetime, str]:
    ts = candidate.updated_at or _EPOCH
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    # the source name breaks ties so the result never depends on arrival order
    return (ts, candidate.source)


def merge_field(field: str, candidates: Iterable[SourcedValue]) -> SourcedValue | None:
    """Pick the winning value for `field` among non-null candidates, or None if there is none."""
    present = [c for c in candidates if c.value is not None and c.value != ""]
    if not present:
        return None
    authority = FIELD_AUTHORITY.get(field, Authority.NEWEST)
    if authority is not Authority.NEWEST:
        preferred = [c for c in present if c.side.value == authority.value]
        if preferred:
            present = preferred
    return max(present, key=_newest_key)


def merge_values(
    per_source: Iterable[tuple[str, Side, Mapping[str, Any], datetime | None]],
) -> dict[str, SourcedValue]:
    """Merge whole records: `(source, side, values, updated_at)` -> field -> winning value."""
    by_field: dict[str, list[SourcedValue]] = {}
    for source, side, values, updated_at in per_source:
        for name, value in values.items():
            by_field.setdefault(name, []).append(SourcedValue(source, side, value, updated_at))
    merged: dict[str, SourcedValue] = {}
    for name, candidates in by_field.items():
        winner = merge_field(name, candidates)
        if winner is not None:
            merged[name] = winner
    return merged
