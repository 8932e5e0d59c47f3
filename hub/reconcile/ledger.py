"""One side's ledger (台账) for a reconciliation, as a polars frame of canonical columns.

Whatever it came from (a file handed in for this run, or the hub's index of the side's configured
sources, hub.reconcile.inputs), a ledger is the same frame: one row per record, the member's
keyed hash in `key` (None when the record has no valid ID number), and the fields the two sides
are compared on. The raw ID number never enters the frame: it is hashed as the record is read,
and only its first six digits (the 户籍 county, which is the origin county) are kept, to place a
record in a scope when the record itself names no origin region.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from hub.model import Side

__all__ = ["Ledger", "BadRow", "COLUMNS", "COMPARED_FIELDS", "frame_of", "frame_digest"]

#: the frame's columns, all text except `row`; `phone` is the keyed hash of the digits and
#: `phone_masked` what a person may be shown (138****5678)
COLUMNS: tuple[str, ...] = (
    "source", "local_id", "row", "key", "id_region", "name", "gender", "birth_date", "phone",
    "phone_masked", "status", "origin_org_id", "origin_region_code",
    "destination_region_code", "destination_org_id", "updated_at",
)
#: canonical fields the two sides are compared on, in the report's order
COMPARED_FIELDS: tuple[str, ...] = (
    "name", "gender", "birth_date", "phone", "status", "origin_org_id", "origin_region_code",
    "destination_region_code", "destination_org_id",
)
_SCHEMA: dict[str, Any] = {c: (pl.Int64 if c == "row" else pl.Utf8) for c in COLUMNS}


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row with a bad value: reported in the run (file, row, column, why) and kept."""

    side: str
    where: str
    row: int | None
    column: str | None
    code: str
    message: str
    local_id: str | None = None


@dataclass(frozen=True, slots=True)
class Ledger:
    """One side's records. `digest` names exactly what was compared: the sha256 of the file
    handed in, or of the index rows read (their keyed content hashes)."""

    side: Side
    label: str
    digest: str
    frame: pl.DataFrame
    bad_rows: tuple[BadRow, ...] = ()
    #: parties owning the records (the side's party; the file's submitter)
    owners: frozenset[str] = field(default_factory=frozenset)
    #: wall and CPU seconds per reading stage (parse_validate, hash, frame, file_digest)
    seconds: Mapping[str, float] = field(default_factory=dict)
    cpu_seconds: Mapping[str, float] = field(default_factory=dict)

    #: the records' count once the frame was released after matching (`spent`)
    released_size: int | None = None

    @property
    def size(self) -> int:
        return self.frame.height if self.released_size is None else self.released_size

    def spent(self) -> Ledger:
        """This ledger without its records: what a report names of it (label, digest, size,
        bad rows), so that a million records' frame can be freed once matching is done."""
        return replace(self, frame=self.frame.clear(), released_size=self.size)


def frame_of(columns: Mapping[str, Sequence[Any]] | Iterable[dict[str, Any]]) -> pl.DataFrame:
    """A ledger frame from column lists (missing columns are empty) or from row dicts."""
    if isinstance(columns, Mapping):
        height = max((len(v) for v in columns.values()), default=0)
        data = {c: pl.Series(c, columns[c], dtype=_SCHEMA[c]) if c in columns
                else pl.Series(c, [None] * height, dtype=_SCHEMA[c]) for c in COLUMNS}
        return pl.DataFrame(data)
    return pl.DataFrame(list(columns), schema=_SCHEMA)


def frame_digest(frame: pl.DataFrame) -> str:
    """sha256 of the frame's CSV, rows in (source, local_id) order: the same records give the
    same digest, whatever order they were read in."""
    ordered = frame.sort(["source", "local_id", "row"], nulls_last=True)
    return "sha256:" + hashlib.sha256(ordered.write_csv().encode("utf-8")).hexdigest()
