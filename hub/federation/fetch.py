"""Live, batched reads of member details from the sources, merged by field authority.

The index knows *which* records make up a member; the details (address, employer, phone...) are
read live at query time, so the hub never holds a second copy of them. For one batch of members
each source gets exactly ONE `read(ReadRequest(keys=[...]))` call, all sources concurrently, each
bounded by its own timeout. A source that fails only removes its own values: the others still
answer, and the failure is returned as a value (`FetchResult.errors`) for the API to report.

What a source returns is checked before it is used: one slot per key, records of the right
shape, values of the canonical types. Anything else is SOURCE_INVALID, never a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base import DataIssue, ReadRequest, ReadResult, Record
from connectors.errors import (
    ConnectorError,
    SourceError,
    SourceInvalid,
    SourceTimeout,
    SourceUnavailable,
)
from hub.federation.breaker import guarded_read
from hub.federation.merge import SourcedValue, merge_values
from hub.federation.sources import SourceEntry, SourceRegistry, auxiliary_fields
from hub.model import MEMBER_PYTHON_TYPES, Side

__all__ = ["Link", "ProvenanceRecord", "MergedMember", "FetchResult", "LiveFetcher"]

log = logging.getLogger(__name__)

#: canonical member field -> accepted Python types (the table: connectors.canonical)
_MEMBER_TYPES: Mapping[str, tuple[type, ...]] = MEMBER_PYTHON_TYPES

#: read with every record (newest-wins needs it) but not reported as a supplied field
_NOT_SUPPLIED = frozenset({"updated_at"})


@dataclass(frozen=True, slots=True)
class Link:
    """One source record of a member, as the index links it."""

    source: str
    local_id: str


@dataclass(frozen=True, slots=True)
class ProvenanceRecord:
    """What one source supplied for one member: its fields, and those that won the merge."""

    system: str
    local_id: str
    fetched_at: datetime
    fields: frozenset[str]
    used: frozenset[str]


@dataclass(slots=True)
class MergedMember:
    """A member's live values after field authority, with who supplied what.

    The provenance (`records`) is worked out on first use from the records that were merged:
    only `Member.sources` asks for it."""

    key: str
    values: dict[str, SourcedValue] = field(default_factory=dict)
    #: sources that hold a record of this member but failed to answer
    failed: dict[str, SourceError] = field(default_factory=dict)
    #: (source, record) merged into `values`, in link order
    found: list[tuple[str, Record]] = field(default_factory=list)
    _records: list[ProvenanceRecord] | None = None

    @property
    def records(self) -> list[ProvenanceRecord]:
        """What each source supplied for this member, and which of those fields won."""
        if self._records is None:
            values = self.values
            records = []
            for source, record in self.found:
                supplied = record.fields - _NOT_SUPPLIED
                used = frozenset(
                    f for f in supplied
                    if (w := values.get(f)) is not None and w.source == source
                )
                records.append(
                    ProvenanceRecord(source, record.local_id, record.fetched_at, supplied, used)
                )
            self._records = records
        return self._records

    def get(self, name: str) -> Any:
        winner = self.values.get(name)
        return None if winner is None else winner.value

    def source_of(self, name: str) -> str | None:
        winner = self.values.get(name)
        return None if winner is None else winner.source


@dataclass(slots=True)
class FetchResult:
    members: dict[str, MergedMember]
    errors: dict[str, SourceError]


def _invalid(source: str, problem: str) -> SourceInvalid:
    """The hub's own check of an answer failed: `problem` names a field or a count, never a
    record or a value, so clients may see it."""
    return SourceInvalid(source, problem, public_detail=problem)


def _check_result(source: str, keys: Sequence[str], result: object) -> list[Record | None]:
    """Return the records when the answer honours the contract; raise SourceInvalid if not."""
    if not isinstance(result, ReadResult) or not isinstance(result.records, list):
        raise _invalid(source, "answered with something that is not a read result")
    if len(result.records) != len(keys):
        raise _invalid(source, f"answered {len(result.records)} records for {len(keys)} keys")
    for record in result.records:
        if record is None:
            continue
        if not isinstance(record, Record) or not isinstance(record.values, Mapping):
            raise _invalid(source, "answered a record of the wrong shape")
        for name, value in record.values.items():
            allowed = _MEMBER_TYPES.get(name)
            if value is not None and allowed is not None and not isinstance(value, allowed):
                raise _invalid(
                    source, f"field {name!r} has a {type(value).__name__}, not a valid value")
    return result.records


class LiveFetcher:
    """Reads member records live. Create one per GraphQL request: it caches what it read, so a
    record asked for twice in one request costs one read."""

    def __init__(self, registry: SourceRegistry, *, entity: str = "member") -> None:
        self.registry = registry
        self.entity = entity
        self._cache: dict[tuple[str, str], Record | None] = {}
        #: source -> the member fields it only fills in (its mapping's authority)
        self._auxiliary: dict[str, frozenset[str]] = {}
        self._errors: dict[str, SourceError] = {}
        #: data-quality issues the sources reported with their answers (an item without an
        #: id, a bad value): the caller records them (`take_issues`), none is dropped
        self._issues: list[DataIssue] = []

    def take_issues(self) -> list[DataIssue]:
        """The issues collected since the last call."""
        issues, self._issues = self._issues, []
        return issues

    async def read_batch(
        self, source: str, local_ids: Sequence[str], fields: frozenset[str] | None
    ) -> dict[str, Record | None]:
        """One `read` call for `local_ids`; failures become `SourceError`s with stable codes."""
        entry = self.registry.get(source)
        if entry is None:
            raise SourceUnavailable(source, "is not connected to this hub")
        wanted = None if fields is None else frozenset(fields | {"updated_at"})
        request = ReadRequest(entity=self.entity, keys=list(local_ids), fields=wanted)
        try:
            result, records = await guarded_read(
                source, lambda: self._read_once(entry, request, local_ids), entry.breaker,
                entry.retry_budget)
        except SourceError as exc:
            self.registry.record(source, exc)
            raise
        self.registry.record(source, None)
        if isinstance(result.issues, list):
            self._issues.extend(i for i in result.issues if isinstance(i, DataIssue))
        out: dict[str, Record | None] = {}
        for local_id, record in zip(local_ids, records):
            if record is not None and wanted is not None and not record.values.keys() <= wanted:
                # strip whatever the source sent beyond what was asked for
                values = {k: v for k, v in record.values.items() if k in wanted}
                record = Record(
                    record.source, record.entity, record.local_id, values, record.fetched_at,
                    record.location,
                )
            out[local_id] = record
        return out

    async def _read_once(
        self, entry: SourceEntry, request: ReadRequest, local_ids: Sequence[str]
    ) -> tuple[ReadResult, list[Record | None]]:
        """One call to the source; every failure becomes a `SourceError` with a stable code."""
        source, timeout = entry.name, entry.timeout
        try:
            # asyncio.timeout, not wait_for: no extra task per read
            async with asyncio.timeout(timeout):
                result = await entry.connector.read(request)
            return result, _check_result(source, local_ids, result)
        except TimeoutError:
            raise SourceTimeout(source, f"no answer within {timeout:g} s") from None
        except SourceError:
            raise
        except ConnectorError as exc:
            raise SourceUnavailable(source, f"cannot be used: {exc.code}") from None
        except Exception:
            # a connector bug: log it here, tell the client only that the answer was unusable
            log.exception("source %s failed unexpectedly", source)
            raise SourceInvalid(source, "failed while reading; see the hub log") from None

    async def _read_source(
        self, source: str, local_ids: Sequence[str], fields: frozenset[str] | None
    ) -> None:
        missing = [i for i in dict.fromkeys(local_ids) if (source, i) not in self._cache]
        if not missing or source in self._errors:
            return
        try:
            got = await self.read_batch(source, missing, fields)
        except SourceError as exc:
            self._errors[source] = exc
            return
        for local_id, record in got.items():
            self._cache[(source, local_id)] = record

    async def fetch_members(
        self,
        links: Mapping[str, Iterable[Link]],
        fields: frozenset[str] | None = None,
    ) -> FetchResult:
        """Read and merge members: `links` maps member key -> its source records.

        `fields` are the canonical fields the caller needs (None: all); `updated_at` is always
        read because newest-wins needs it.
        """
        by_source: dict[str, list[str]] = {}
        materialised = {key: list(ls) for key, ls in links.items()}
        for key_links in materialised.values():
            for link in key_links:
                by_source.setdefault(link.source, []).append(link.local_id)
        if len(by_source) == 1:
            ((src, ids),) = by_source.items()
            await self._read_source(src, ids, fields)
        else:
            await asyncio.gather(
                *(self._read_source(src, ids, fields) for src, ids in by_source.items())
            )
        # what the merge needs of each source, looked up once for the batch, not per member
        sides: dict[str, Side] = {}
        for source in by_source:
            entry = self.registry.get(source)
            if entry is not None:
                sides[source] = entry.side
                if source not in self._auxiliary:
                    self._auxiliary[source] = auxiliary_fields(entry.connector)
        auxiliary = self._auxiliary if any(self._auxiliary.get(s) for s in sides) else None
        members = {
            key: self._merge(key, key_links, sides, auxiliary)
            for key, key_links in materialised.items()
        }
        errors = {s: e for s, e in self._errors.items() if s in by_source}
        return FetchResult(members, errors)

    def _merge(self, key: str, links: Sequence[Link], sides: Mapping[str, Side],
               auxiliary: Mapping[str, frozenset[str]] | None) -> MergedMember:
        merged = MergedMember(key)
        per_source: list[tuple[str, Side, Mapping[str, Any], datetime | None]] = []
        found: list[tuple[str, Record]] = []
        errors, cache = self._errors, self._cache
        for link in links:
            source = link.source
            if source in errors:
                merged.failed[source] = errors[source]
                continue
            record = cache.get((source, link.local_id))
            side = sides.get(source)
            if record is None or side is None:
                continue
            found.append((source, record))
            values = record.values
            per_source.append((source, side, values, values.get("updated_at")))
        merged.values = merge_values(per_source, auxiliary)
        merged.found = found
        return merged
