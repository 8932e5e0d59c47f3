"""The connector contract: one small async interface every source system adapter implements.

Modelled on httpx's transport base: a handful of methods, `aclose()`, and `async with`.
aiohttp, SQLAlchemy and openpyxl objects never leave the connector that uses them; callers
only ever see the value types defined here.

Records carry *canonical* field names (see `docs/architecture.md`, "Canonical fields"): the
mapping file translates each system's names, codes and date formats into them, so the hub never
needs to know how a system spells 性别.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Any, ClassVar, Self

__all__ = [
    "Capability",
    "Connector",
    "DataIssue",
    "EntitySchema",
    "Location",
    "PartialDate",
    "ReadRequest",
    "ReadResult",
    "Record",
    "SourceSchema",
    "WriteRequest",
    "WriteResult",
]


class Capability(enum.Enum):
    """What a connector can do; the hub and the conformance kit select behaviour by these."""

    READ = "read"                  # page through an entity
    READ_BY_KEYS = "read_by_keys"  # fetch a batch of records by local id in one call
    READ_CHANGES = "read_changes"  # page only records changed since a timestamp
    WRITE = "write"                # create or update records in the system of record


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date known to year, month or day precision.

    Ledgers write "2016年3月" for when someone left; turning that into 2016-03-01 would invent a
    day. `str()` gives ISO 8601 at the known precision: "2016", "2016-03" or "2016-03-01".
    """

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("a day needs a month")
        date(self.year, self.month or 1, self.day or 1)  # raises ValueError when impossible

    @classmethod
    def from_date(cls, value: date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    @classmethod
    def parse_iso(cls, text: str) -> PartialDate:
        """Parse "2016", "2016-03" or "2016-03-01"."""
        parts = [int(p) for p in text.strip().split("-")]
        if not 1 <= len(parts) <= 3:
            raise ValueError(f"not an ISO date: {text!r}")
        return cls(*parts)

    def __lt__(self, other: PartialDate) -> bool:
        return (self.year, self.month or 0, self.day or 0) < (
            other.year, other.month or 0, other.day or 0
        )

    @property
    def precision(self) -> str:
        return "day" if self.day else "month" if self.month else "year"

    def to_date(self) -> date:
        """The first day of the period, for sorting and storing in a DATE column."""
        return date(self.year, self.month or 1, self.day or 1)

    def __str__(self) -> str:
        if self.day:  # a day always has its month (__post_init__)
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.month:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value came from inside a source, so a person can find and fix it.

    `where` is a file name, an API page/cursor, or a table name; `row` is 1-based as a person
    counts it in the file or page (the header row of a ledger is row N, its first data row N+1).
    """

    where: str
    row: int | None = None

    def __str__(self) -> str:
        return self.where if self.row is None else f"{self.where} row {self.row}"


@dataclass(frozen=True, slots=True)
class DataIssue:
    """One data-quality problem in a source: kept and shown, never silently dropped.

    `code` is machine-readable (INVALID_ID_NUMBER, INVALID_DATE, UNKNOWN_CODE, MISSING_VALUE,
    MISSING_COLUMN, INVALID_VALUE, MISSING_KEY); `message` says what to fix. Raw values are never
    stored for sensitive fields (id_number, phone): `value` is masked by the connector.
    """

    source: str
    entity: str
    code: str
    message: str
    location: Location
    column: str | None = None
    local_id: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One entity instance from one source, in canonical field names, with its provenance."""

    source: str
    entity: str
    local_id: str
    values: Mapping[str, Any]
    fetched_at: datetime
    location: Location | None = None

    @property
    def fields(self) -> frozenset[str]:
        """The canonical fields this record actually supplied (non-null)."""
        return frozenset([k for k, v in self.values.items() if v is not None])


@dataclass(frozen=True, slots=True)
class EntitySchema:
    name: str
    fields: frozenset[str]
    key: str = "local_id"


@dataclass(frozen=True, slots=True)
class SourceSchema:
    """What `describe()` returns: the source's name, kind and entities with their fields."""

    name: str
    kind: str
    entities: Mapping[str, EntitySchema]
    capabilities: frozenset[Capability]


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """Either a page (`cursor`, `page_size`, optional `since`) or a batch by `keys`.

    With `keys`, the result has exactly one slot per key, in order (None when the source has
    no such record), like a DataLoader batch. `fields` limits what is asked for and returned:
    the hub only asks a source for what the caller may see.
    """

    entity: str
    keys: Sequence[str] | None = None
    cursor: str | None = None
    page_size: int = 500
    since: datetime | None = None
    fields: frozenset[str] | None = None


@dataclass(slots=True)
class ReadResult:
    """One page (or by-id batch). `total` is how many records the source itself says the
    whole listing holds (its `total` field), when it says so: the sync checks it received that
    many, so a source that pages differently than asked cannot lose records silently."""

    records: list[Record | None]
    next_cursor: str | None = None
    issues: list[DataIssue] = field(default_factory=list)
    total: int | None = None


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One ledger entry to write into the system of record, as the mapping's `[write.<action>]`
    says. `values` are named as `connectors.canonical.WRITE_VALUES` (the entry's own fields)
    and `payload.<name>` (the action's payload); the mapping picks which go where.

    `idempotency_key` travels to the source (a REST header, the SQL or ledger key column), so a
    retried delivery is recognised there and never makes a second row."""

    action: str
    idempotency_key: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What the source said: its own id of the new row when it names one, and whether it had
    the idempotency key already (a retry of a write that did arrive)."""

    action: str
    remote_id: str | None = None
    duplicate: bool = False


class Connector(abc.ABC):
    """An adapter to one source system. Open it with `async with`, or call `aclose()`."""

    kind: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    #: The source's configured name (unique in a hub), used in provenance and errors.
    name: str

    @abc.abstractmethod
    async def describe(self) -> SourceSchema:
        """Entities and canonical fields this source supplies, from its mapping."""

    @abc.abstractmethod
    async def read(self, request: ReadRequest) -> ReadResult:
        """Read one page or one batch of keys. Raise `SourceError` subclasses on failure;
        report bad rows as `DataIssue`s in the result instead of raising."""

    @property
    def write_actions(self) -> frozenset[str]:
        """The actions this source can take writes for (its mapping's `[write.<action>]`
        tables); empty for a connector without `Capability.WRITE`."""
        return frozenset()

    async def write(self, request: WriteRequest) -> WriteResult:
        """Write one entry into the system of record, idempotently by
        `request.idempotency_key`. Only connectors declaring `Capability.WRITE` override it.
        Raise `SourceUnavailable` (retry later) or `SourceRejected`/`SourceInvalid`/
        `NotSupported` (final: retrying will not help)."""
        from connectors.errors import NotSupported

        raise NotSupported(self.name, f"{self.kind} connector cannot write")

    async def ping(self) -> None:
        """Cheap health check; raise a `SourceError` when the source is not healthy.

        The default reads one record of the first entity, which every source can do.
        """
        schema = await self.describe()
        entity = next(iter(schema.entities))
        await self.read(ReadRequest(entity=entity, page_size=1))

    async def aclose(self) -> None:  # noqa: B027 - an optional hook: most connectors hold nothing
        """Release sockets, engines and file handles. Safe to call twice."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
