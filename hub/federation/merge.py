"""Field authority: which source's value wins when two systems disagree about one person.

The rule comes from the split of responsibility in the co-management agreements
(流入地管理为主、流出地协同管理): the origin side (流出地) keeps membership records (党籍管理), the
destination side (流入地) knows where the member lives and works and runs their organisation
life. Everything else takes the newest value (the table: `hub.model.FIELD_AUTHORITY`). Sync
uses this to derive the index's routing attributes and the query path uses it to merge live
details, so both always agree.

Above the side comes the source's own authority: a system of record (the default) always
ranks before an auxiliary source (`authority = "auxiliary"` in its mapping, or per field in
`field_authority`), such as a study platform members register on themselves. An auxiliary
value fills a gap, whatever its side or timestamp, and never overrides a system of record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from hub.model import FIELD_AUTHORITY, Authority, Side

__all__ = ["SourcedValue", "merge_field", "merge_values"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SourcedValue:
    """One source's value for one field, with what the merge needs to rank it."""

    source: str
    side: Side
    value: Any
    updated_at: datetime | None


def _newest_key(candidate: SourcedValue) -> tuple[datetime, str]:
    return _rank(candidate.source, candidate.updated_at)


def merge_field(
    field: str, candidates: Iterable[SourcedValue],
    auxiliary: Mapping[str, frozenset[str]] | None = None,
) -> SourcedValue | None:
    """Pick the winning value for `field` among non-null candidates, or None if there is none.
    `auxiliary`: source -> the fields it only fills in (module docstring)."""
    present = [c for c in candidates if c.value is not None and c.value != ""]
    if not present:
        return None
    if auxiliary:
        of_record = [c for c in present if field not in auxiliary.get(c.source, ())]
        present = of_record or present
    authority = FIELD_AUTHORITY.get(field, Authority.NEWEST)
    if authority is not Authority.NEWEST:
        preferred = [c for c in present if c.side.value == authority.value]
        if preferred:
            present = preferred
    return max(present, key=_newest_key)


def merge_values(
    per_source: Iterable[tuple[str, Side, Mapping[str, Any], datetime | None]],
    auxiliary: Mapping[str, frozenset[str]] | None = None,
) -> dict[str, SourcedValue]:
    """Merge whole records: `(source, side, values, updated_at)` -> field -> winning value.

    The same answer as `merge_field` on every field, cheaper: the records are ranked once
    (updated_at, then name) and each field takes the first non-empty value in the order its
    authority gives (systems of record before auxiliary sources, then its side's records
    first, newest first); a record alone wins every field it has a value for. `auxiliary`:
    source -> the fields it only fills in."""
    records = list(per_source)
    if auxiliary and any(auxiliary.get(r[0]) for r in records):
        return _merge_with_auxiliary(records, auxiliary)
    if len(records) == 1:
        source, side, values, updated_at = records[0]
        return {
            name: SourcedValue(source, side, value, updated_at)
            for name, value in values.items()
            if value is not None and value != ""
        }
    # newest first; the sort is stable, so of equal ranks the earlier record stays first (as
    # max() in merge_field keeps the first of equal candidates)
    newest = sorted(records, key=lambda r: _rank(r[0], r[3]), reverse=True)
    # the record order per preferred side (None: newest across sides), made when a field
    # first needs it: a page merges this for every member, so no enum lookups per record
    orders: dict[Side | None, list[tuple[str, Side, Mapping[str, Any], datetime | None]]] = {
        None: newest}
    merged: dict[str, SourcedValue] = {}
    for name in dict.fromkeys(chain.from_iterable(record[2] for record in records)):
        preferred = _PREFERRED.get(name)
        order = orders.get(preferred)
        if order is None:
            order = orders[preferred] = [r for r in newest if r[1] is preferred] + [
                r for r in newest if r[1] is not preferred]
        for source, side, values, updated_at in order:
            value = values.get(name)
            if value is not None and value != "":
                merged[name] = SourcedValue(source, side, value, updated_at)
                break
    return merged


#: field -> the side whose records it takes first, None for newest-wins (FIELD_AUTHORITY)
_PREFERRED: dict[str, Side | None] = {
    name: None if authority is Authority.NEWEST else Side(authority.value)
    for name, authority in FIELD_AUTHORITY.items()
}


def _rank(source: str, updated_at: datetime | None) -> tuple[datetime, str]:
    """Newest-wins order: updated_at (naive read as UTC, missing as the epoch), then the
    source name, so the result never depends on arrival order."""
    ts = updated_at or _EPOCH
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts, source)


def _merge_with_auxiliary(
    records: list[tuple[str, Side, Mapping[str, Any], datetime | None]],
    auxiliary: Mapping[str, frozenset[str]],
) -> dict[str, SourcedValue]:
    """`merge_values` when some source is auxiliary for some field: per field, the systems of
    record's candidates are merged first; the auxiliary ones only when none has a value."""
    merged: dict[str, SourcedValue] = {}
    for name in dict.fromkeys(name for record in records for name in record[2]):
        candidates = [SourcedValue(source, side, values.get(name), updated_at)
                      for source, side, values, updated_at in records]
        winner = merge_field(name, candidates, auxiliary)
        if winner is not None:
            merged[name] = winner
    return merged
