"""An in-memory connector: a real implementation of the contract, for hub tests and benchmarks.

Like httpx's MockTransport it is not a stub: it pages, batches by key, filters changed-since,
honours `fields`, and can be told to be slow or to fail, so hub behaviour under partial failure
is tested against the same code path as a real source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.base import (
    Capability,
    Connector,
    EntitySchema,
    ReadRequest,
    ReadResult,
    Record,
    SourceSchema,
    WriteRequest,
    WriteResult,
)
from connectors.errors import NotSupported, SourceError, SourceInvalid

__all__ = ["MockConnector"]


class MockConnector(Connector):
    """Serves `data[entity]` (a list of canonical value dicts, each with a `local_id`)."""

    kind: ClassVar[str] = "mock"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.READ, Capability.READ_BY_KEYS, Capability.READ_CHANGES, Capability.WRITE}
    )

    def __init__(
        self,
        name: str,
        data: Mapping[str, Iterable[Mapping[str, Any]]],
        *,
        latency: float = 0.0,
        fail: Callable[[ReadRequest], SourceError | None] | None = None,
        write_actions: Iterable[str] = (),
        fail_write: Callable[[WriteRequest], SourceError | None] | None = None,
    ) -> None:
        self.name = name
        self._rows: dict[str, dict[str, dict[str, Any]]] = {
            entity: {str(row["local_id"]): dict(row) for row in rows}
            for entity, rows in data.items()
        }
        self.latency = latency
        self.fail = fail
        self._write_actions = frozenset(write_actions)
        self.fail_write = fail_write
        #: idempotency key -> the write taken with it (a retry with the same key is not new)
        self.writes: dict[str, WriteRequest] = {}
        #: every request served, in order; tests assert batching with it
        self.calls: list[ReadRequest] = []
        self.closed = False

    async def describe(self) -> SourceSchema:
        entities = {
            entity: EntitySchema(
                entity, frozenset(k for row in rows.values() for k in row if k != "local_id")
            )
            for entity, rows in self._rows.items()
        }
        return SourceSchema(self.name, self.kind, entities, self.capabilities)

    def _record(self, entity: str, row: Mapping[str, Any], fields: frozenset[str] | None) -> Record:
        values = {
            k: v for k, v in row.items() if k != "local_id" and (fields is None or k in fields)
        }
        return Record(self.name, entity, str(row["local_id"]), values, datetime.now(UTC))

    async def read(self, request: ReadRequest) -> ReadResult:
        self.calls.append(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail is not None and (error := self.fail(request)) is not None:
            raise error
        if request.entity not in self._rows:
            raise SourceInvalid(self.name, f"unknown entity {request.entity!r}")
        rows = self._rows[request.entity]
        if request.keys is not None:
            return ReadResult(
                [
                    self._record(request.entity, rows[k], request.fields) if k in rows else None
                    for k in request.keys
                ]
            )
        ordered = sorted(rows.values(), key=lambda r: str(r["local_id"]))
        if request.since is not None:
            ordered = [
                r for r in ordered if r.get("updated_at") is None or r["updated_at"] > request.since
            ]
        start = int(request.cursor or 0)
        page = ordered[start : start + request.page_size]
        end = start + len(page)
        return ReadResult(
            [self._record(request.entity, r, request.fields) for r in page],
            next_cursor=str(end) if end < len(ordered) else None,
        )

    @property
    def write_actions(self) -> frozenset[str]:
        return self._write_actions

    async def write(self, request: WriteRequest) -> WriteResult:
        """Keep the write by its idempotency key, for the actions given at construction."""
        if request.action not in self._write_actions:
            raise NotSupported(self.name, f"takes no {request.action!r} writes")
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail_write is not None and (error := self.fail_write(request)) is not None:
            raise error
        if request.idempotency_key in self.writes:
            return WriteResult(request.action, request.idempotency_key, duplicate=True)
        self.writes[request.idempotency_key] = request
        return WriteResult(request.action, request.idempotency_key)

    async def aclose(self) -> None:
        self.closed = True
