"""A first look at a live source through its mapping: one page and one by-id batch per entity,
the mapped records (ID numbers and phones masked), the data-quality issues, and anything the
hub would lose with this mapping. What `yanxing mapping check FILE --sample N` prints.

"Lost" means a record or value the source has that would not reach the hub's GraphQL: rows
without a usable id, records the by-id read does not return (their live fields would be
missing), values that differ between the two reads, fields mapped to a column no sampled record
fills (a misspelt column), values emptied by a data-quality issue, a listing that ends before
the source's own `total`, and a REST member entity that cannot be read by id at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors._values import mask_raw
from connectors.base import Capability, Connector, DataIssue, ReadRequest, Record
from connectors.errors import SourceError
from connectors.mapping import SourceMapping

__all__ = ["EntityProbe", "probe_entity", "masked_values"]


@dataclass(slots=True)
class EntityProbe:
    entity: str
    records: list[Record] = field(default_factory=list)
    issues: list[DataIssue] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    total: int | None = None
    more: bool = False
    by_id: int | None = None


def masked_values(record: Record, types: Mapping[str, str]) -> dict[str, Any]:
    """The record's values as text, ID numbers and phones masked (what a terminal may show)."""
    out: dict[str, Any] = {}
    for name, value in record.values.items():
        kind = types.get(name, "string")
        out[name] = mask_raw(kind, value) if kind in ("id_number", "phone") else (
            None if value is None else str(value))
    return out


async def probe_entity(connector: Connector, mapping: SourceMapping, entity: str,
                       sample: int) -> EntityProbe:
    """Read one page of `sample` records and the same ids by key; say what would be lost."""
    spec = mapping.entities[entity]
    found = EntityProbe(entity)
    page = await connector.read(ReadRequest(entity, page_size=sample))
    found.records = [r for r in page.records if r is not None][:sample]
    found.issues = list(page.issues)
    found.total, found.more = page.total, page.next_cursor is not None
    missing_key = [i for i in page.issues if i.code == "MISSING_KEY"]
    if missing_key:
        found.lost.append(f"{len(missing_key)} row(s) without a usable {spec.local_id}: never "
                          "indexed (fill in their ids)")
    emptied = [i for i in page.issues if i.code not in ("MISSING_KEY", "MISSING_VALUE")]
    if emptied:
        found.lost.append(f"{len(emptied)} value(s) kept empty because the source's value is "
                          "not valid (the issues say which)")
    if found.total is not None and not found.more and len(page.records) < found.total:
        found.lost.append(f"the listing ended after {len(page.records)} record(s), but the "
                          f"source says total {found.total}: check pagination")
    never = sorted(f for f in spec.fields
                   if found.records and all(r.values.get(f) is None for r in found.records))
    if never:
        found.lost.append(f"mapped but empty in every sampled record: {', '.join(never)} (check "
                          "their columns)")
    if Capability.READ_BY_KEYS in connector.capabilities and (
            mapping.source.kind != "rest" or spec.by_keys is not None):
        keys = [r.local_id for r in found.records]
        try:
            batch = await connector.read(ReadRequest(entity, keys=keys))
        except SourceError as exc:
            found.lost.append(f"reading by id failed ({exc} [{exc.code}]): every live field "
                              "would be missing; check by_keys")
            return found
        # the same row read again by id repeats its issues: each is shown once
        seen = {(i.code, i.local_id, i.column) for i in found.issues}
        found.issues.extend(i for i in batch.issues if (i.code, i.local_id, i.column) not in seen)
        back = {r.local_id: r for r in batch.records if r is not None}
        found.by_id = len(back)
        absent = [k for k in keys if k not in back]
        if absent:
            found.lost.append(f"{len(absent)} of {len(keys)} record(s) not returned by id: "
                              "their live fields would be missing")
        differ = sorted(k for k in keys if k in back and dict(back[k].values) != dict(
            next(r for r in found.records if r.local_id == k).values))
        if differ:
            found.lost.append(f"{len(differ)} record(s) read by id differ from the listing: "
                              "check by_keys (path, records)")
    elif mapping.source.kind == "rest" and entity == "member" and not spec.index_only:
        found.lost.append("no by_keys: every live field of this source would be NOT_SUPPORTED "
                          "(add [entities.member.by_keys], or index_only = true)")
    return found
