"""Derive each member's routing attributes from all of its linked source records.

A member row is never edited directly: it is recomputed from the routing values every linked
source supplied, with the field-authority rule of `hub.federation.merge` (origin wins for
membership facts, destination for residence, otherwise newest). So the same links always give
the same row, whatever order sources were synced or matches confirmed in.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import RowMapping, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base import PartialDate
from hub.clock import as_utc
from hub.federation.merge import merge_values
from hub.model import Side
from hub.store.models import MemberRow, SourceLinkRow
from hub.store.upsert import chunked, upsert

__all__ = ["ROUTING_FIELDS", "member_row", "recompute_members"]

#: values a member link keeps (never the ID number); `birth_date` is an ISO partial date
ROUTING_FIELDS = (
    "name",
    "birth_date",
    "phone_hash",
    "status",
    "origin_org_id",
    "origin_region_code",
    "destination_region_code",
    "destination_org_id",
)

_BATCH = 500


@functools.lru_cache(maxsize=1 << 15)
def _birth_column(text: str) -> date:
    """The members.birth_date column of a routing birth date ("1990-03" -> 1990-03-01), made
    once per text: a province has some tens of thousands of birth dates, each parsed for every
    member born on it. (A date is immutable; a bad text raises every time, never cached.)"""
    return PartialDate.parse_iso(text).to_date()


def _column_value(field: str, value: Any) -> Any:
    if field == "birth_date" and isinstance(value, str):
        return _birth_column(value)
    return value


def member_row(key: str, links: Sequence[Mapping[Any, Any]], now: datetime) -> dict[str, Any]:
    """The member row of `key` from all of its links (in link id order), each with its
    `source`, `side`, `routing`, `source_updated_at` and `auxiliary` (the fields that source
    only fills gaps for: authority = "auxiliary")."""
    if len(links) == 1 and not links[0].get("auxiliary"):
        return _single_link_row(key, links[0], now)
    return _merged_row(key, links, now)


def _merged_row(key: str, links: Sequence[Mapping[Any, Any]], now: datetime) -> dict[str, Any]:
    """`member_row` by the field-authority merge of all the links."""
    auxiliary = {link["source"]: frozenset(link["auxiliary"]) for link in links
                 if link.get("auxiliary")}
    merged = merge_values(
        (
            (
                link["source"],
                Side(link["side"] or Side.DESTINATION.value),
                link["routing"] or {},
                as_utc(link["source_updated_at"]),
            )
            for link in links
        ),
        auxiliary,
    )
    row: dict[str, Any] = {"key": key, "indexed_at": now}
    for field in ROUTING_FIELDS:
        winner = merged.get(field)
        row[field] = _column_value(field, winner.value) if winner else None
    stamps = [as_utc(link["source_updated_at"]) for link in links]
    row["updated_at"] = max((s for s in stamps if s is not None), default=None)
    return row


def _single_link_row(key: str, link: Mapping[Any, Any], now: datetime) -> dict[str, Any]:
    """`member_row` of a member with one link (every member a first sync indexes), without
    merging: a record alone wins every field it has a value for (merge_values)."""
    routing = link["routing"] or {}
    row: dict[str, Any] = {"key": key, "indexed_at": now}
    for field in ROUTING_FIELDS:
        value = routing.get(field)
        row[field] = None if value is None or value == "" else value
    if row["birth_date"] is not None:
        row["birth_date"] = _column_value("birth_date", row["birth_date"])
    row["updated_at"] = as_utc(link["source_updated_at"])
    return row


async def recompute_members(
    session: AsyncSession, keys: Iterable[str], *, now: datetime | None = None
) -> int:
    """Rewrite the member rows of `keys` from their links; delete those with no link left.

    Returns how many member rows were written. Runs in the caller's transaction.
    """
    now = now or datetime.now(UTC)
    written = 0
    for part in chunked(sorted(set(keys)), _BATCH):
        result = await session.execute(
            select(
                SourceLinkRow.member_key,
                SourceLinkRow.source,
                SourceLinkRow.side,
                SourceLinkRow.routing,
                SourceLinkRow.source_updated_at,
                SourceLinkRow.auxiliary,
            )
            .where(SourceLinkRow.member_key.in_(part))
            .order_by(SourceLinkRow.id)
        )
        by_key: dict[str, list[RowMapping]] = {}
        for link in result.mappings():
            by_key.setdefault(link["member_key"], []).append(link)
        rows = [member_row(key, by_key[key], now) for key in part if key in by_key]
        orphans = [key for key in part if key not in by_key]
        await upsert(session, MemberRow, rows, key=["key"])
        if orphans:
            await session.execute(delete(MemberRow).where(MemberRow.key.in_(orphans)))
        written += len(rows)
    return written
